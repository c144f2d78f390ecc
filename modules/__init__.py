"""mlops-ladder: declare an MLOps maturity level per environment; get the AWS stack and project repos for it."""

import os as _os

# Offline by design: opt out of SDK telemetry and update checks before any SDK is imported.
_os.environ.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
_os.environ.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
_os.environ.setdefault("SAGEMAKER_TELEMETRY_OPT_OUT", "true")

__version__ = "0.1.0"
