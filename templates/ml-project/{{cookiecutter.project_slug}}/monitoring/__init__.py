"""Data-quality baseline in SageMaker Model Monitor's format, and a local drift check against it."""
