"""One ComponentResource per capability. Token ``mlops:<module>:<Type>``; children ``f"{name}-<role>"``."""
