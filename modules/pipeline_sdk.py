"""The SageMaker Python SDK v3, loaded lazily and kept offline, for :mod:`modules.pipeline_definition`.

Building a pipeline definition makes no AWS call: the SDK runs on a ``PipelineSession`` whose boto3 session has
dummy credentials and refuses to send any request (:class:`OfflineViolation`), whose default bucket is preset,
with the SageMaker config supplied in code (no config file, no S3 config) and telemetry opted out through that
config. :class:`_SdkScope` removes the SDK's per-build costs (a local-mode session per processing step, a
jsonschema validation of the config on every lookup) for the duration of one build.

Split from pipeline_definition.py (which keeps what the definition says) so each file stays under ~600 lines.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import threading
import warnings
from typing import Any

# --------------------------------------------------------------------------------------------------------------
# The SDK, loaded lazily and kept offline
# --------------------------------------------------------------------------------------------------------------

# Supplying the SageMaker config in code means the SDK reads no admin/user config file and never fetches one from
# S3; TelemetryOptOut is the SDK's only telemetry switch (it is read from this config, there is no env variable).
_SDK_CONFIG = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
_DUMMY_KEY = "offline-pipeline-definition"
_SDK_LOCK = threading.RLock()
_VALIDATE_ROLE_ENV = "SAGEMAKER_VALIDATE_ROLE"


class OfflineViolation(RuntimeError):
    """The SDK tried to call AWS while building a pipeline definition (a bug: building must stay offline)."""


def _refuse_request(request=None, **_):
    raise OfflineViolation(f"pipeline definition build tried to call AWS: {getattr(request, 'url', request)}")


def _offline_boto_session(region: str):
    import boto3

    class _OfflineSession(boto3.Session):
        """Clients are made once per service: the SDK asks for new IAM and Scheduler clients on every build
        (~5 ms each) and never uses them here. Safe to share because none of them can send anything."""

        def client(self, service_name, region_name=None, **kwargs):
            if kwargs:
                return super().client(service_name, region_name=region_name, **kwargs)
            key = (service_name, region_name)
            cache = self.__dict__.setdefault("_offline_clients", {})
            if key not in cache:
                cache[key] = super().client(service_name, region_name=region_name)
            return cache[key]

    # Explicit (dummy) credentials: botocore never walks the credential chain (no IMDS, no SSO, no STS).
    session = _OfflineSession(aws_access_key_id=_DUMMY_KEY, aws_secret_access_key=_DUMMY_KEY, region_name=region)
    # Every client made from this session refuses to send anything: an SDK code path that would call AWS fails
    # loudly here instead of reaching the network (or a real account).
    session.events.register("before-send", _refuse_request)
    return session


@functools.lru_cache(maxsize=1)
def _sdk() -> Any:
    """Import the SDK once. Importing ``sagemaker.mlops`` imports ``sagemaker.serve`` which creates a boto3
    SageMaker client at import time from boto3's default session (it fails without a region). Give that import an
    offline default session, then put boto3's default session back as it was."""
    import types

    import boto3

    previous = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = _offline_boto_session("us-east-1")
    quiet = warnings.catch_warnings()  # the SDK's own import-time DeprecationWarnings about its shims
    quiet.__enter__()
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from sagemaker.core import image_uris
        from sagemaker.core.config.config import validate_sagemaker_config
        from sagemaker.core.config.config_manager import SageMakerConfig
        from sagemaker.core.drift_check_baselines import DriftCheckBaselines
        from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.processing import Processor
        from sagemaker.core.shapes import (
            ProcessingInput,
            ProcessingOutput,
            ProcessingS3Input,
            ProcessingS3Output,
        )
        from sagemaker.core.training.configs import (
            Compute,
            InputData,
            OutputDataConfig,
            StoppingCondition,
        )
        from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join, JsonGet
        from sagemaker.core.workflow.parameters import ParameterString
        from sagemaker.core.workflow.pipeline_context import PipelineSession
        from sagemaker.core.workflow.properties import PropertyFile
        from sagemaker.mlops.workflow import steps as steps_module
        from sagemaker.mlops.workflow.condition_step import ConditionStep
        from sagemaker.mlops.workflow.fail_step import FailStep
        from sagemaker.mlops.workflow.model_step import ModelStep
        from sagemaker.mlops.workflow.pipeline import Pipeline
        from sagemaker.mlops.workflow.retry import (
            SageMakerJobExceptionTypeEnum,
            SageMakerJobStepRetryPolicy,
            StepExceptionTypeEnum,
            StepRetryPolicy,
        )
        from sagemaker.mlops.workflow.steps import (
            CacheConfig,
            ProcessingStep,
            TrainingStep,
        )
        from sagemaker.serve.model_builder import ModelBuilder
        from sagemaker.train.model_trainer import ModelTrainer
    finally:
        quiet.__exit__(None, None, None)
        boto3.DEFAULT_SESSION = previous
    return types.SimpleNamespace(
        image_uris=image_uris, validate_sagemaker_config=validate_sagemaker_config,
        SageMakerConfig=SageMakerConfig, MetricsSource=MetricsSource, ModelMetrics=ModelMetrics,
        DriftCheckBaselines=DriftCheckBaselines, NetworkConfig=NetworkConfig,
        Processor=Processor, ProcessingInput=ProcessingInput, ProcessingOutput=ProcessingOutput,
        ProcessingS3Input=ProcessingS3Input, ProcessingS3Output=ProcessingS3Output,
        ConditionGreaterThanOrEqualTo=ConditionGreaterThanOrEqualTo,
        ConditionLessThanOrEqualTo=ConditionLessThanOrEqualTo, ExecutionVariables=ExecutionVariables,
        Join=Join, JsonGet=JsonGet,
        ParameterString=ParameterString, PipelineSession=PipelineSession, PropertyFile=PropertyFile,
        ConditionStep=ConditionStep, FailStep=FailStep, ModelStep=ModelStep, Pipeline=Pipeline,
        SageMakerJobExceptionTypeEnum=SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy=SageMakerJobStepRetryPolicy, StepExceptionTypeEnum=StepExceptionTypeEnum,
        StepRetryPolicy=StepRetryPolicy, steps_module=steps_module, CacheConfig=CacheConfig,
        ProcessingStep=ProcessingStep, TrainingStep=TrainingStep, ModelBuilder=ModelBuilder, Compute=Compute,
        InputData=InputData, OutputDataConfig=OutputDataConfig, StoppingCondition=StoppingCondition,
        ModelTrainer=ModelTrainer)


@functools.cache
def _session(region: str):
    """One offline ``PipelineSession`` per region (creating its boto3 clients is the expensive part)."""
    sdk = _sdk()
    # default_bucket is preset so the SDK never resolves (or creates) a "sagemaker-<region>-<account>" bucket; it
    # is never used for anything in the definition because every S3 location is given explicitly.
    session = sdk.PipelineSession(boto_session=_offline_boto_session(region),
                                  default_bucket="offline-placeholder-bucket",
                                  sagemaker_config=copy.deepcopy(_SDK_CONFIG))
    session._default_bucket = "offline-placeholder-bucket"
    return session



class _SdkScope:
    """What one SDK build needs around it, entered under ``_SDK_LOCK``.

    ``ProcessingStep.__init__`` instantiates ``LocalSagemakerClient()`` only to read the *name* of its
    ``create_processing_job`` method; that constructor builds a whole local-mode ``Session`` from boto3's
    default chain (it fails without a region, reads the SDK config files and the local-mode config, creates
    boto3 clients) on every step. For the duration of a build the steps module gets a subclass whose
    constructor does nothing, so the name check is the same and nothing else happens.
    """

    def __enter__(self):
        steps = self._steps = _sdk().steps_module
        self._original = steps.LocalSagemakerClient
        steps.LocalSagemakerClient = _name_only_local_client(self._original)
        # ModelTrainer validates its role with iam:SimulatePrincipalPolicy unless this variable says not to
        # (it has no argument for it). The role is the platform's own, created with the right policies.
        # Every SDK config lookup re-validates the whole config with jsonschema, schema check included (~0.18 s
        # each, ~45 lookups per pipeline: 8 s of a 8.1 s build). The config is ours and constant: validate it
        # once, then remember that it was valid.
        self._config_cls = _sdk().SageMakerConfig
        self._validate_config = self._config_cls.__dict__["validate_sagemaker_config"]
        self._config_cls.validate_sagemaker_config = staticmethod(_validate_config_once)
        self._validate_role = os.environ.get(_VALIDATE_ROLE_ENV)
        os.environ[_VALIDATE_ROLE_ENV] = "false"
        # The SDK logs a dozen INFO/WARNING lines per build about things that are expected here ("Popping out
        # 'TrainingJobName'", "No Job being started", ...): keep them out of `pulumi preview`; errors still pass.
        self._loggers = [lg for name, lg in list(logging.root.manager.loggerDict.items())
                         if name.startswith("sagemaker") and isinstance(lg, logging.Logger)]
        for lg in self._loggers:
            lg.addFilter(_errors_only)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.filterwarnings("ignore", module=r"sagemaker\..*")
        return self

    def __exit__(self, *exc):
        self._warnings.__exit__(*exc)
        for lg in self._loggers:
            lg.removeFilter(_errors_only)
        self._steps.LocalSagemakerClient = self._original
        self._config_cls.validate_sagemaker_config = self._validate_config
        if self._validate_role is None:
            os.environ.pop(_VALIDATE_ROLE_ENV, None)
        else:
            os.environ[_VALIDATE_ROLE_ENV] = self._validate_role
        return False


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


_VALID_CONFIGS: set[str] = set()


def _validate_config_once(sagemaker_config=None):
    key = json.dumps(sagemaker_config, sort_keys=True, default=repr)
    if key not in _VALID_CONFIGS:
        _sdk().validate_sagemaker_config(sagemaker_config)  # raises when invalid; nothing is remembered then
        _VALID_CONFIGS.add(key)


@functools.cache
def _name_only_local_client(base):
    class _NameOnlyLocalSagemakerClient(base):
        def __init__(self, sagemaker_session=None):
            self.sagemaker_session = sagemaker_session

    return _NameOnlyLocalSagemakerClient
