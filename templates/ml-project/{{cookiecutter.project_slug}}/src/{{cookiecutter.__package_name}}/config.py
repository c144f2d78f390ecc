"""Settings baked in when this project was generated (see the platform's stack spec).

Names of AWS resources are NOT here: they are read at run time from the project contract in SSM under
CONTRACT_PREFIX, so the platform can change them without touching this repository.
"""

PROJECT = "{{ cookiecutter.project_slug }}"
PACKAGE = "{{ cookiecutter.__package_name }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
AWS_REGION = "{{ cookiecutter.aws_region }}"
GITHUB_REPOSITORY = "{{ cookiecutter.github_repository }}"
MATURITY_LEVEL = {{ cookiecutter.maturity_level }}
FRAMEWORK = "{{ cookiecutter.framework }}"

QUALITY_GATE_METRIC = "{{ cookiecutter.quality_gate_metric }}"
QUALITY_GATE_MIN = {{ cookiecutter.quality_gate_min }}
DRIFT_THRESHOLD = {{ cookiecutter.drift_threshold }}


def contract_prefix(environment: str = ENVIRONMENT, project: str = PROJECT) -> str:
    """SSM path under which the platform publishes this project's resource names."""
    return f"/mlops/{environment}/{project}/"
