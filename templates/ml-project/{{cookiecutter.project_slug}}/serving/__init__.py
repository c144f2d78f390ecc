"""SageMaker-compatible inference container for {{ cookiecutter.project_name }}."""
