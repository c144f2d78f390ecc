"""mlops-ladder: declare an MLOps maturity level per environment; get the AWS stack and project repos for it."""

import os as _os

# Offline by design: opt out of SDK telemetry and update checks before any SDK is imported.
_os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
_os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
# The SageMaker SDK v3 has no environment switch for telemetry: modules/pipeline_definition.py opts out
# through the SDK config (TelemetryOptOut) of the only sessions we create, which cannot reach AWS at all.

__version__ = "0.1.0"
