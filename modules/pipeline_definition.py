"""SageMaker Model Building Pipeline definition for one project, built offline with the SageMaker Python SDK v3.

The platform owns orchestration, the project repository owns step code (DESIGN.md section 5). This module turns a
project's training settings into the pipeline definition JSON that ``aws.sagemaker.Pipeline`` takes:

    preprocess (ProcessingStep) -> train (TrainingStep) -> evaluate (ProcessingStep + PropertyFile)
      -> gate (ConditionStep: <group>.<metric>.value >= min, or <= max for lower-is-better metrics)
           true  -> register (ModelStep: model package, PendingManualApproval, evaluation.json as ModelMetrics,
                              the baseline as DriftCheckBaselines.ModelDataQuality)
           false -> fail (FailStep)
    evaluate -> baseline (ProcessingStep: Model Monitor's analyzer image on evaluate's baseline dataset)

**Baseline** (issue 13): preprocess also writes ``baseline/baseline.csv``, the training split as a request sends
it: no header, no label, the features in serving order; evaluate turns it into the dataset as data capture
records it - the model's output first (label, score), then those features (Model Monitor reads captured output
and input in that order; ``text/csv`` capture has no header, so the analyzer names columns ``_c0``, ``_c1``... in
both). The ``baseline`` step is the processing job
``DefaultModelMonitor.suggest_baseline`` / ``QualityCheckStep`` run (same image, the same environment:
``dataset_format={"csv": {"header": false, ...}}``, ``dataset_source``, ``output_path``, metrics off; plain
``ProcessingStep`` so the pipeline needs no check-step machinery) and writes ``statistics.json`` and
``constraints.json`` under the execution's own prefix. The register step records them on the package
(``DriftCheckBaselines.ModelDataQuality``): a baseline belongs to the model trained on that data, so the monitor
switches baselines when ``ladder deploy`` serves the package (it pins them as ``monitoring.baseline``), not when a
retraining run that is still waiting for approval finishes.

Step code is referenced only by ``s3://<artifact-bucket>/<project>/code/<code-version>/...`` URIs, so building a
definition uploads nothing. Building makes no AWS call at all: the SDK runs on a ``PipelineSession`` whose boto3
session has dummy credentials and whose default bucket is preset, with the SageMaker config supplied in code
(so no config file or S3 config is read) and telemetry opted out through that config.

Cost: importing the SDK takes ~2 s once per process; a build then takes ~10 ms. Left alone the SDK would need
~8 s per build (it re-validates its config with jsonschema on every one of ~45 config lookups) and would build a
local-mode session per processing step; ``_SdkScope`` removes both for the duration of a build (see there). The
offline session is made once per region, image URIs are looked up once per (framework, version, region, scope),
and identical inputs return the cached string.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass

# The SDK and its offline session live in pipeline_sdk (stdlib imports only; the SDK itself loads lazily)
from .pipeline_sdk import _SDK_LOCK, OfflineViolation, _sdk, _SdkScope, _session  # noqa: F401 (re-exported)

__all__ = [
    "SUPPORTED_FRAMEWORKS",
    "OfflineViolation",
    "PipelineInputs",
    "build_definition",
    "code_prefix",
    "code_root",
    "data_prefix",
    "output_prefix",
]

# framework -> SageMaker image family (image_uris key) and its version: THE one place the scikit-learn version is
# pinned. The training job and the package's inference container use image `version`; the generated project's
# dependency (`ladder new` passes `library` as the template's sklearn_version; pyproject scikit-learn==<library>.*)
# and its hash-locked requirements-serving.txt pin the same minor (tests/test_framework_versions.py).
# 1.9-0: the newest scikit-learn framework image in the SDK's image_uris config (sklearn.json), training and
# inference alike (1.4-2 has no inference image, only 1.4-2-py312). xgboost 3.2-0: the newest XGBoost framework
# image in image_uri_config/xgboost.json, training and inference alike; `library` is the xgboost minor the
# generated project pins (`ladder new` passes it as xgboost_version).
SUPPORTED_FRAMEWORKS: dict[str, dict[str, str]] = {
    "sklearn": {"image": "sklearn", "version": "1.9-0", "library": "1.9"},
    "xgboost": {"image": "xgboost", "version": "3.2-0", "library": "3.2"},
}

PARAM_CODE_VERSION = "CodeVersion"
PARAM_INPUT_DATA = "InputDataUrl"
PARAM_TRAINING_INSTANCE = "TrainingInstanceType"
PARAM_PROCESSING_INSTANCE = "ProcessingInstanceType"
PARAMETERS = (PARAM_CODE_VERSION, PARAM_INPUT_DATA, PARAM_TRAINING_INSTANCE, PARAM_PROCESSING_INSTANCE)
APPROVAL_STATUS = "PendingManualApproval"  # a literal: whoever may start the pipeline cannot approve (DESIGN 6b)

STEP_PREPROCESS = "preprocess"
STEP_TRAIN = "train"
STEP_EVALUATE = "evaluate"
STEP_GATE = "gate"
STEP_REGISTER = "register"
STEP_FAIL = "fail"
STEP_BASELINE = "baseline"

SPLITS = ("train", "validation", "test")
OUTPUT_MANIFEST = "manifest"
OUTPUT_BASELINE_DATA = "baseline"           # preprocess: headerless label-free features; evaluate: + model output
BASELINE_FEATURES = "baseline_features"     # evaluate's input: preprocess's baseline features
OUTPUT_BASELINE = "monitoring_output"       # baseline step: statistics.json + constraints.json (SDK's output name)
BASELINE_DATASET_INPUT = "baseline_dataset_input"
BASELINE_DATASET_PATH = f"/opt/ml/processing/input/{BASELINE_DATASET_INPUT}"
BASELINE_OUTPUT_PATH = "/opt/ml/processing/output"
BASELINE_FILES = ("statistics.json", "constraints.json")
# What DefaultModelMonitor.suggest_baseline passes the analyzer (sagemaker.core.model_monitor._generate_env_map)
BASELINE_ENVIRONMENT = {"dataset_format": json.dumps({"csv": {"header": False, "output_columns_position": "START"}}),
                        "dataset_source": BASELINE_DATASET_PATH, "output_path": BASELINE_OUTPUT_PATH,
                        "publish_cloudwatch_metrics": "Disabled"}
OUTPUT_EVALUATION = "evaluation"
PROPERTY_MANIFEST = "DataManifest"
MANIFEST_FILE = "manifest.json"
PROPERTY_FILE = "EvaluationReport"
EVALUATION_FILE = "evaluation.json"
SOURCE_ARCHIVE = "sourcedir.tar.gz"  # what the project repo uploads next to the step scripts (run_pipeline.py)
INFERENCE_PROGRAM = "inference.py"   # inside model.tar.gz under code/ (train.py puts it there)
INFERENCE_CODE_DIR = "/opt/ml/model/code"
CODE_LOCAL_PATH = "/opt/ml/processing/input/code"
CACHE_EXPIRE_AFTER = "P30D"
# Model Monitor model-quality statistics (what the registry's ModelQuality.Statistics holds), one group per problem
# type: {"binary_classification_metrics": {"auc": {"value": x, "standard_deviation": s}, ...}}
# (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html). evaluate.py writes
# every gate metric of the problem type under the spec's name in its group.
METRICS_GROUPS = {"binary": "binary_classification_metrics", "multiclass": "multiclass_classification_metrics",
                  "regression": "regression_metrics"}
METRICS_GROUP = METRICS_GROUPS["binary"]
BOUNDS = ("min", "max")  # min: metric >= threshold registers; max: metric <= threshold registers


def gate_json_path(metric: str, problem_type: str = "binary") -> str:
    """What the gate's JsonGet reads from evaluation.json: ``<group>.<metric>.value``."""
    return f"{METRICS_GROUPS[problem_type]}.{metric}.value"


_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_METRIC_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class PipelineInputs:
    project: str               # e.g. "churn"
    pipeline_name: str         # e.g. "acme-dev-churn-training"
    region: str                # e.g. "us-east-1"
    artifact_bucket: str       # bucket NAME
    role_arn: str              # execution role ARN
    model_package_group: str   # group NAME
    code_version: str = "initial"  # default of the CodeVersion parameter (CI passes the git SHA)
    framework: str = "sklearn"  # sklearn | xgboost
    framework_version: str = "1.9-0"  # SUPPORTED_FRAMEWORKS["sklearn"]["version"]
    training_instance_type: str = "ml.m5.xlarge"
    processing_instance_type: str = "ml.m5.large"
    metric: str = "auc"
    threshold: float = 0.8
    bound: str = "min"            # min: metric >= threshold; max: metric <= threshold (lower-is-better metrics)
    problem_type: str = "binary"  # binary | multiclass | regression: the evaluation report's metrics group
    kms_key_arn: str | None = None  # output / volume encryption when given
    serving_instance_type: str = "ml.m5.large"  # the package's SupportedRealtimeInferenceInstanceTypes
    cache_steps: bool = False  # spec training.cacheSteps: P30D caching on preprocess/train/evaluate


def code_root(inputs: PipelineInputs) -> str:
    """Where the project's code versions live: ``s3://<bucket>/<project>/code/`` (then ``<version>/<file>``)."""
    return f"s3://{inputs.artifact_bucket}/{inputs.project}/code/"


def code_prefix(inputs: PipelineInputs) -> str:
    """The default code version's prefix: ``s3://<bucket>/<project>/code/<version>/``."""
    return f"{code_root(inputs)}{inputs.code_version}/"


def data_prefix(inputs: PipelineInputs) -> str:
    """Default InputDataUrl: ``s3://<bucket>/<project>/data/`` holding ``<version>/*.csv`` folders."""
    return f"s3://{inputs.artifact_bucket}/{inputs.project}/data/"


def output_prefix(inputs: PipelineInputs) -> str:
    """Where the pipeline's steps write: ``s3://<bucket>/<project>/pipelines/<pipeline-name>/<execution-id>/``
    (the execution id is appended at run time)."""
    return f"s3://{inputs.artifact_bucket}/{inputs.project}/pipelines/{inputs.pipeline_name}/"


def _validate(inputs: PipelineInputs) -> None:
    problems = []
    if not _SEGMENT_RE.match(inputs.project or ""):
        problems.append(f"project {inputs.project!r} must be a plain path segment")
    if not _NAME_RE.match(inputs.pipeline_name or ""):
        problems.append(f"pipeline_name {inputs.pipeline_name!r} is not a valid SageMaker pipeline name")
    if not _REGION_RE.match(inputs.region or ""):
        problems.append(f"region {inputs.region!r} is not an AWS region name")
    if not _BUCKET_RE.match(inputs.artifact_bucket or ""):
        problems.append(f"artifact_bucket {inputs.artifact_bucket!r} is not an S3 bucket name")
    if not (inputs.role_arn or "").startswith("arn:") or ":role/" not in inputs.role_arn:
        problems.append(f"role_arn {inputs.role_arn!r} is not an IAM role ARN")
    if not _NAME_RE.match(inputs.model_package_group or ""):
        problems.append(f"model_package_group {inputs.model_package_group!r} is not a valid group name")
    if not _SEGMENT_RE.match(inputs.code_version or ""):
        problems.append(f"code_version {inputs.code_version!r} must be a plain path segment")
    if inputs.framework not in SUPPORTED_FRAMEWORKS:
        problems.append(f"framework {inputs.framework!r} is not one of {sorted(SUPPORTED_FRAMEWORKS)}")
    if not _METRIC_RE.match(inputs.metric or ""):
        problems.append(f"metric {inputs.metric!r} must be an identifier (it is read as metrics.<metric>.value)")
    if inputs.bound not in BOUNDS:
        problems.append(f"bound {inputs.bound!r} is not one of {list(BOUNDS)}")
    if inputs.problem_type not in METRICS_GROUPS:
        problems.append(f"problem_type {inputs.problem_type!r} is not one of {sorted(METRICS_GROUPS)}")
    if isinstance(inputs.threshold, bool) or not isinstance(inputs.threshold, (int, float)) \
            or not math.isfinite(inputs.threshold):
        problems.append(f"threshold {inputs.threshold!r} must be a finite number")
    if inputs.kms_key_arn is not None and not inputs.kms_key_arn.startswith("arn:"):
        problems.append(f"kms_key_arn {inputs.kms_key_arn!r} is not a KMS key ARN")
    if not isinstance(inputs.cache_steps, bool):
        problems.append(f"cache_steps {inputs.cache_steps!r} must be true or false")
    for field in ("training_instance_type", "processing_instance_type", "serving_instance_type"):
        if not str(getattr(inputs, field)).startswith("ml."):
            problems.append(f"{field} {getattr(inputs, field)!r} is not a SageMaker instance type")
    if problems:
        raise ValueError("invalid pipeline inputs: " + "; ".join(problems))


@functools.cache
def image_uri(framework: str, framework_version: str, region: str, scope: str, instance_type: str) -> str:
    """The framework image for the region, from the SDK's bundled image tables (no network call)."""
    sdk = _sdk()
    with _SDK_LOCK:
        return sdk.image_uris.retrieve(framework=SUPPORTED_FRAMEWORKS[framework]["image"], region=region,
                                       version=framework_version, py_version="py3", instance_type=instance_type,
                                       image_scope=scope, sagemaker_session=_session(region))


# --------------------------------------------------------------------------------------------------------------
# Direct build with the SDK
# --------------------------------------------------------------------------------------------------------------

def _job_retry_policies(sdk) -> list:
    return [
        sdk.StepRetryPolicy(exception_types=[sdk.StepExceptionTypeEnum.THROTTLING,
                                             sdk.StepExceptionTypeEnum.SERVICE_FAULT],
                            interval_seconds=10, backoff_rate=2.0, max_attempts=5),
        sdk.SageMakerJobStepRetryPolicy(exception_types=[sdk.SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                                                         sdk.SageMakerJobExceptionTypeEnum.INTERNAL_ERROR],
                                        interval_seconds=60, backoff_rate=2.0, max_attempts=3),
    ]


def _build_with_sdk(inputs: PipelineInputs) -> str:
    sdk = _sdk()
    session = _session(inputs.region)
    kms = inputs.kms_key_arn
    # Caching is off unless the spec opts in (training.cacheSteps): SageMaker keys a step's cache on its
    # arguments, not on the S3 contents (docs: "Default cache key attributes by pipeline step type"), so a cached
    # step must take the code version and the data URI as arguments (it does: both are parameters below).
    cache = sdk.CacheConfig(enable_caching=bool(inputs.cache_steps), expire_after=CACHE_EXPIRE_AFTER)

    p_code = sdk.ParameterString(name=PARAM_CODE_VERSION, default_value=inputs.code_version)
    p_input = sdk.ParameterString(name=PARAM_INPUT_DATA, default_value=data_prefix(inputs))
    p_train_type = sdk.ParameterString(name=PARAM_TRAINING_INSTANCE, default_value=inputs.training_instance_type)
    p_proc_type = sdk.ParameterString(name=PARAM_PROCESSING_INSTANCE, default_value=inputs.processing_instance_type)
    execution_id = sdk.ExecutionVariables.PIPELINE_EXECUTION_ID

    def code(file: str):
        """s3://<bucket>/<project>/code/<CodeVersion>/<file>: the immutable version the execution was given."""
        return sdk.Join(on="", values=[code_root(inputs), p_code, f"/{file}"])

    def out(*parts: str):
        """s3://<bucket>/<project>/pipelines/<pipeline>/<execution-id>/<parts>: no two executions share it."""
        return sdk.Join(on="/", values=[output_prefix(inputs).rstrip("/"), execution_id, *parts])

    train_image = image_uri(inputs.framework, inputs.framework_version, inputs.region, "training",
                            inputs.training_instance_type)
    inference_image = image_uri(inputs.framework, inputs.framework_version, inputs.region, "inference",
                                inputs.serving_instance_type)
    processing_image = train_image  # evaluate must be able to load the framework's model

    def processor(base: str, script: str):
        # A plain Processor with the code as an explicit input: what ScriptProcessor(code=s3://...) produces (an
        # S3 input "code" at /opt/ml/processing/input/code, entrypoint python3 <that>/<script>), except that the
        # code URI is a Join on the CodeVersion parameter, which ScriptProcessor's code hashing cannot take.
        return sdk.Processor(role=inputs.role_arn, image_uri=processing_image,
                             entrypoint=["python3", f"{CODE_LOCAL_PATH}/{script}"],
                             instance_count=1, instance_type=p_proc_type, volume_kms_key=kms,
                             output_kms_key=kms, base_job_name=f"{inputs.project}-{base}",
                             sagemaker_session=session)

    def code_input(script: str):
        return s3_in("code", code(script), CODE_LOCAL_PATH)

    def s3_in(name: str, source, dest: str):
        return sdk.ProcessingInput(input_name=name, s3_input=sdk.ProcessingS3Input(
            s3_uri=source, local_path=dest, s3_data_type="S3Prefix", s3_input_mode="File",
            s3_data_distribution_type="FullyReplicated"))

    def s3_out(name: str, source: str, dest):
        return sdk.ProcessingOutput(output_name=name, s3_output=sdk.ProcessingS3Output(
            s3_uri=dest, local_path=source, s3_upload_mode="EndOfJob"))

    # preprocess: newest data version under InputDataUrl -> train / validation / test + manifest.json
    manifest = sdk.PropertyFile(name=PROPERTY_MANIFEST, output_name=OUTPUT_MANIFEST, path=MANIFEST_FILE)
    preprocess = sdk.ProcessingStep(
        name=STEP_PREPROCESS,
        description="Split the newest data version (project code: preprocess.py)",
        step_args=processor("preprocess", "preprocess.py").run(
            inputs=[s3_in("raw", p_input, "/opt/ml/processing/input"), code_input("preprocess.py")],
            outputs=[s3_out(s, f"/opt/ml/processing/{s}", out(STEP_PREPROCESS, s)) for s in SPLITS]
            + [s3_out(OUTPUT_MANIFEST, "/opt/ml/processing/manifest", out(STEP_PREPROCESS, OUTPUT_MANIFEST)),
               s3_out(OUTPUT_BASELINE_DATA, f"/opt/ml/processing/{OUTPUT_BASELINE_DATA}",
                      out(STEP_PREPROCESS, OUTPUT_BASELINE_DATA))],
            arguments=["--input-dir", "/opt/ml/processing/input", "--output-dir", "/opt/ml/processing",
                       "--input-uri", p_input]),
        property_files=[manifest],
        cache_config=cache, retry_policies=_job_retry_policies(sdk))
    prep_out = preprocess.properties.ProcessingOutputConfig.Outputs

    # train: script mode with the framework container (SM_CHANNEL_TRAIN / SM_CHANNEL_VALIDATION / SM_MODEL_DIR);
    # train.py writes model.joblib and code/inference.py into SM_MODEL_DIR, so model.tar.gz carries its own code.
    trainer = sdk.ModelTrainer(
        training_image=train_image,
        role=inputs.role_arn,
        base_job_name=f"{inputs.project}-train",
        compute=sdk.Compute(instance_type=p_train_type, instance_count=1, volume_size_in_gb=30,
                            volume_kms_key_id=kms),
        output_data_config=sdk.OutputDataConfig(s3_output_path=out(STEP_TRAIN), kms_key_id=kms),
        stopping_condition=sdk.StoppingCondition(max_runtime_in_seconds=86400),
        hyperparameters={
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": code(SOURCE_ARCHIVE),
            "sagemaker_region": inputs.region,
            "sagemaker_container_log_level": 20,
        },
        sagemaker_session=session,
    )
    train = sdk.TrainingStep(
        name=STEP_TRAIN,
        description="Train the model (project code: train.py in sourcedir.tar.gz, script mode)",
        step_args=trainer.train(input_data_config=[
            sdk.InputData(channel_name="train", data_source=prep_out["train"].S3Output.S3Uri),
            sdk.InputData(channel_name="validation", data_source=prep_out["validation"].S3Output.S3Uri),
        ]),
        cache_config=cache, retry_policies=_job_retry_policies(sdk))
    model_artifacts = train.properties.ModelArtifacts.S3ModelArtifacts

    # evaluate: model + test -> evaluation.json in Model Monitor's model-quality statistics format
    report = sdk.PropertyFile(name=PROPERTY_FILE, output_name=OUTPUT_EVALUATION, path=EVALUATION_FILE)
    evaluate = sdk.ProcessingStep(
        name=STEP_EVALUATE,
        description="Score the model on the test split (project code: evaluate.py)",
        step_args=processor("evaluate", "evaluate.py").run(
            inputs=[s3_in("model", model_artifacts, "/opt/ml/processing/model"),
                    s3_in("test", prep_out["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
                    s3_in(BASELINE_FEATURES, prep_out[OUTPUT_BASELINE_DATA].S3Output.S3Uri,
                          f"/opt/ml/processing/{BASELINE_FEATURES}"),
                    code_input("evaluate.py")],
            outputs=[s3_out(OUTPUT_EVALUATION, "/opt/ml/processing/evaluation",
                            out(STEP_EVALUATE, OUTPUT_EVALUATION)),
                     s3_out(OUTPUT_BASELINE_DATA, f"/opt/ml/processing/{OUTPUT_BASELINE_DATA}",
                            out(STEP_EVALUATE, OUTPUT_BASELINE_DATA))],
            arguments=["--model-dir", "/opt/ml/processing/model", "--test-dir", "/opt/ml/processing/test",
                       "--output-dir", "/opt/ml/processing/evaluation",
                       "--baseline-features-dir", f"/opt/ml/processing/{BASELINE_FEATURES}",
                       "--baseline-dir", f"/opt/ml/processing/{OUTPUT_BASELINE_DATA}"]),
        property_files=[report],
        cache_config=cache, retry_policies=_job_retry_policies(sdk))
    # the step's own output URI (no trailing slash) + "/evaluation.json": one "/" exactly
    evaluation_uri = evaluate.properties.ProcessingOutputConfig.Outputs[OUTPUT_EVALUATION].S3Output.S3Uri

    # baseline: Model Monitor's analyzer on evaluate's baseline dataset (what suggest_baseline runs)
    from .components.monitor_signals import analyzer_image_uri

    analyzer = sdk.Processor(role=inputs.role_arn, image_uri=analyzer_image_uri(inputs.region), instance_count=1,
                             instance_type=p_proc_type, volume_kms_key=kms, output_kms_key=kms,
                             max_runtime_in_seconds=3600, base_job_name=f"{inputs.project}-baseline",
                             env=dict(BASELINE_ENVIRONMENT), sagemaker_session=session,
                             network_config=sdk.NetworkConfig(enable_network_isolation=True,
                                                              encrypt_inter_container_traffic=True))
    baseline_data = evaluate.properties.ProcessingOutputConfig.Outputs[OUTPUT_BASELINE_DATA].S3Output.S3Uri
    baseline = sdk.ProcessingStep(
        name=STEP_BASELINE,
        description="Data-quality baseline of the training split (Model Monitor analyzer, as suggest_baseline)",
        step_args=analyzer.run(
            inputs=[s3_in(BASELINE_DATASET_INPUT, baseline_data, BASELINE_DATASET_PATH)],
            outputs=[s3_out(OUTPUT_BASELINE, BASELINE_OUTPUT_PATH, out(STEP_BASELINE))]),
        cache_config=cache, retry_policies=_job_retry_policies(sdk))
    baseline_uri = baseline.properties.ProcessingOutputConfig.Outputs[OUTPUT_BASELINE].S3Output.S3Uri

    # register: model package in the project's group, PendingManualApproval as a literal (never a parameter)
    builder = sdk.ModelBuilder(
        s3_model_data_url=model_artifacts,
        image_uri=inference_image,
        role_arn=inputs.role_arn,
        sagemaker_session=session,
        instance_type=inputs.serving_instance_type,
        # Script mode from inside the artefact: a network-isolated endpoint cannot fetch code from S3.
        env_vars={"SAGEMAKER_PROGRAM": INFERENCE_PROGRAM, "SAGEMAKER_SUBMIT_DIRECTORY": INFERENCE_CODE_DIR},
    )
    metrics = sdk.ModelMetrics(model_statistics=sdk.MetricsSource(
        content_type="application/json",
        s3_uri=sdk.Join(on="/", values=[evaluation_uri, EVALUATION_FILE])))
    drift = sdk.DriftCheckBaselines(
        model_data_statistics=sdk.MetricsSource(content_type="application/json",
                                                s3_uri=sdk.Join(on="/", values=[baseline_uri, BASELINE_FILES[0]])),
        model_data_constraints=sdk.MetricsSource(content_type="application/json",
                                                 s3_uri=sdk.Join(on="/", values=[baseline_uri, BASELINE_FILES[1]])))
    register = sdk.ModelStep(
        name=STEP_REGISTER,
        description=f"Register into {inputs.model_package_group} (pending manual approval)",
        step_args=builder.register(
            model_package_group_name=inputs.model_package_group,
            content_types=["text/csv", "application/json"], response_types=["application/json", "text/csv"],
            inference_instances=[inputs.serving_instance_type],
            approval_status=APPROVAL_STATUS, model_metrics=metrics, drift_check_baselines=drift,
            customer_metadata_properties={
                "CodeVersion": p_code,
                "DataVersion": sdk.JsonGet(step_name=STEP_PREPROCESS, property_file=manifest,
                                           json_path="data_version"),
                "DataUri": sdk.JsonGet(step_name=STEP_PREPROCESS, property_file=manifest, json_path="data_uri"),
                "PipelineExecutionArn": sdk.ExecutionVariables.PIPELINE_EXECUTION_ARN,
            }),
        retry_policies=[_job_retry_policies(sdk)[0]])

    # The gate: JsonGet on evaluate's property file, compared with the spec's bound. Pipelines' condition step
    # takes GreaterThanOrEqualTo and LessThanOrEqualTo conditions ("Condition step" in the Pipelines step docs;
    # sagemaker.core.workflow.conditions.ConditionGreaterThanOrEqualTo / ConditionLessThanOrEqualTo): min for
    # higher-is-better metrics (auc, r2...), max for lower-is-better ones (rmse, log_loss...).
    threshold = float(inputs.threshold)
    lower = inputs.bound == "max"
    op, side = ("<=", "above") if lower else (">=", "below")
    fail = sdk.FailStep(
        name=STEP_FAIL,
        error_message=f"Quality gate failed: {inputs.metric} is {side} the threshold {threshold:g} "
                      f"({inputs.metric} {op} {threshold:g} required)")
    condition = sdk.ConditionLessThanOrEqualTo if lower else sdk.ConditionGreaterThanOrEqualTo
    gate = sdk.ConditionStep(
        name=STEP_GATE,
        description=f"{inputs.metric} {op} {threshold:g}",
        conditions=[condition(
            left=sdk.JsonGet(step_name=STEP_EVALUATE, property_file=report,
                             json_path=gate_json_path(inputs.metric, inputs.problem_type)),
            right=threshold)],
        if_steps=[register], else_steps=[fail])

    pipeline = sdk.Pipeline(
        name=inputs.pipeline_name,
        parameters=[p_code, p_input, p_train_type, p_proc_type],
        steps=[preprocess, train, evaluate, baseline, gate],
        sagemaker_session=session,
        pipeline_experiment_config=None,  # no Experiments permissions on the role: no experiment/trial per run
    )
    return pipeline.definition()


def _canonical(definition: str) -> str:
    """Stable serialisation: sorted keys, no insignificant whitespace."""
    return json.dumps(json.loads(definition), sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=1024)
def build_definition(inputs: PipelineInputs) -> str:
    """The SageMaker pipeline definition JSON for one project.

    Deterministic (same inputs, same string: keys sorted, no timestamps or generated names), offline (no AWS call,
    no upload, no telemetry) and thread-safe (builds are serialised: the SDK keeps per-session state).
    Raises ``ValueError`` for invalid inputs.

    Served from the on-disk definition cache (modules/definition_cache.py) when it holds this build: a warm cache
    never imports the SDK. ``LADDER_NO_CACHE=1`` builds with the SDK every time.
    """
    _validate(inputs)
    from . import definition_cache

    return definition_cache.cached(inputs, build_fresh)


def build_fresh(inputs: PipelineInputs) -> str:
    """Build with the SageMaker SDK, bypassing every cache (what the definition cache stores)."""
    _validate(inputs)
    _sdk()
    with _SDK_LOCK, _SdkScope():
        return _canonical(_build_with_sdk(inputs))
