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
FRAMEWORK = "{{ cookiecutter.framework }}"  # sklearn | xgboost
PROBLEM_TYPE = "{{ cookiecutter.problem_type }}"  # binary | multiclass | regression (also in schema.json)

# The pipeline's quality gate: evaluation.json's QUALITY_GATE_METRIC must be >= the threshold ("min", a
# higher-is-better metric) or <= it ("max", lower-is-better: rmse, mae, mape, log_loss).
QUALITY_GATE_METRIC = "{{ cookiecutter.quality_gate_metric }}"
QUALITY_GATE_BOUND = "{{ cookiecutter.quality_gate_bound }}"
QUALITY_GATE_THRESHOLD = {{ cookiecutter.quality_gate_threshold }}
DRIFT_THRESHOLD = {{ cookiecutter.drift_threshold }}

# True when the stack's spec declares a data contract (projects[].data: a label other than the sample's "target",
# categorical or drop columns): the team trains on its own data, so the bundled sample is not what the gate is
# set for and CI only reports the gate on it (`make train-local GATE=report`); False: the sample is the data.
DATA_DECLARED = {{ "True" if (cookiecutter.data_label != "target" or (cookiecutter.data_categorical|string|trim) not in ["[]", ""] or (cookiecutter.data_drop|string|trim) not in ["[]", ""]) else "False" }}


def contract_prefix(environment: str = ENVIRONMENT, project: str = PROJECT) -> str:
    """SSM path under which the platform publishes this project's resource names."""
    return f"/mlops/{environment}/{project}/"
