"""Issue 15: any supervised problem. A mixed stack - a regression project (rmse gate, a data contract), a
multiclass one and an xgboost binary one - validates, plans (each pipeline gates on its own metric, direction and
metrics group), passes the policy pack and applies in the sandbox, at level 4 and at level 2; spec errors name
the key for wrong metric/problem pairs, both or neither bound, a bound on the wrong side, overlapping data columns
and a model-quality monitor on a metric Model Monitor does not publish.

AWS rules relied on: the Pipelines condition step's GreaterThanOrEqualTo / LessThanOrEqualTo conditions on a
JsonGet of the evaluation report (sagemaker.core.workflow.conditions); Model Monitor's model-quality statistics
groups and metric names per problem type and ModelQualityAppSpecification.ProblemType
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from modules import plan, spec
from modules.cli import app
from modules.policies import runner as policy_runner

runner = CliRunner()

DATA = {"label": "units_sold", "categorical": ["store", "weekday"], "drop": ["row_id"]}
PROJECTS: list[dict[str, Any]] = [
    {"name": "demand", "problemType": "regression", "data": DATA,
     "training": {"qualityGate": {"metric": "rmse", "max": 60}},
     "serving": {"minInstances": 2}, "monitoring": {"modelQuality": True}},
    {"name": "species", "problemType": "multiclass",
     "training": {"qualityGate": {"metric": "f1_weighted", "min": 0.85}},
     "serving": {"minInstances": 2}, "monitoring": {"modelQuality": True}},
    {"name": "fraud", "framework": "xgboost", "training": {"qualityGate": {"metric": "auc", "min": 0.9}},
     "serving": {"minInstances": 2}, "monitoring": {"modelQuality": True}},
]
# project -> (problem type, the gate's condition type, JsonGet path, the gate as the plan describes it)
EXPECTED = {
    "demand": ("regression", "LessThanOrEqualTo", "regression_metrics.rmse.value", "rmse <= 60"),
    "species": ("multiclass", "GreaterThanOrEqualTo", "multiclass_classification_metrics.f1_weighted.value",
                "f1_weighted >= 0.85"),
    "fraud": ("binary", "GreaterThanOrEqualTo", "binary_classification_metrics.auc.value", "auc >= 0.9"),
}


MONITOR_PROBLEM = {"regression": "Regression", "multiclass": "MulticlassClassification",
                   "binary": "BinaryClassification"}


def package_arn(project: str, env: str = "prod") -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-{env}-{project}/1"


def mixed(maturity: int, environment: str = "prod", projects: list[dict[str, Any]] | None = None,
          packages: dict[str, str] | None = None) -> dict[str, Any]:
    """The mixed stack; ``packages`` (project -> approved model package ARN) puts endpoints and monitors in it."""
    chosen = copy.deepcopy(projects if projects is not None else PROJECTS)
    for p in chosen:
        if packages and p["name"] in packages:
            p.setdefault("serving", {})["modelPackageArn"] = packages[p["name"]]
    return {
        "aws:region": "us-east-1", "mlops:environment": environment, "mlops:maturity": maturity,
        "mlops:owner": "ml-platform@example.com", "mlops:org": "acme",
        "mlops:github": {"org": "acme-ml", "platformRepository": "acme-ml/mlops-platform"},
        "mlops:projects": chosen,
    }


def write(tmp_path: Path, cfg: dict[str, Any], name: str = "mixed") -> Path:
    f = tmp_path / f"Pulumi.{name}.yaml"
    f.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return f


VARIANTS = {"level4": (4, "prod"), "level2": (2, "dev")}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def graph(request) -> tuple[spec.StackSpec, plan.Graph]:
    """Level 4 with an approved package per project (endpoints and monitors exist), level 2 (pipelines only)."""
    maturity, env = VARIANTS[request.param]
    cfg = mixed(maturity, env, packages={n: package_arn(n) for n in EXPECTED} if maturity == 4 else None)
    s = spec.from_config(cfg, source="<mixed>", stack=request.param)
    return s, plan.run_program(s, cfg)


# ---- validates ---------------------------------------------------------------------------------------

def test_the_mixed_stack_validates_with_each_problem_type(tmp_path: Path):
    for maturity, env in VARIANTS.values():
        f = write(tmp_path, mixed(maturity, env))
        result = runner.invoke(app, ["validate", "--stack-file", str(f)])
        assert result.exit_code == 0, result.output
        s = spec.load(path=f)
        assert {p.name: p.problem_type for p in s.projects} == {n: e[0] for n, e in EXPECTED.items()}
        demand = s.project("demand")
        assert (demand.label, demand.data.categorical, demand.data.drop) == ("units_sold", ["store", "weekday"],
                                                                            ["row_id"])
        assert s.project("fraud").framework == "xgboost" and not s.project("fraud").problem_type_given


def test_problem_type_is_inferred_from_the_metric_when_absent():
    cases = {"r2": ("regression", "min"), "mae": ("regression", "max"), "f1_macro": ("multiclass", "min"),
             "f1_weighted": ("multiclass", "min"), "accuracy": ("binary", "min"), "log_loss": ("binary", "max")}
    for metric, (kind, bound) in cases.items():
        gate = {"metric": metric, bound: 0.5}
        s = spec.from_config(mixed(2, "dev", [{"name": "p", "training": {"qualityGate": gate}}]))
        assert s.projects[0].problem_type == kind, metric
        assert s.projects[0].training.quality_gate.bound == bound


def test_shared_metrics_follow_an_explicit_problem_type():
    s = spec.from_config(mixed(2, "dev", [
        {"name": "p", "problemType": "multiclass", "training": {"qualityGate": {"metric": "log_loss", "max": 0.4}}}]))
    assert s.projects[0].problem_type == "multiclass" and s.projects[0].problem_type_given


# ---- plans -----------------------------------------------------------------------------------------------

def _pipelines(g: plan.Graph) -> dict[str, plan.Resource]:
    return {r.inputs["pipelineName"].split("-")[2]: r for r in g.by_type("aws:sagemaker/pipeline:Pipeline")}


def test_each_pipeline_gates_on_its_own_metric_direction_and_group(graph):
    _, g = graph
    pipelines = _pipelines(g)
    assert sorted(pipelines) == sorted(EXPECTED)
    for name, (kind, condition_type, path, described) in EXPECTED.items():
        pipe = pipelines[name]
        assert f"({kind})" in pipe.inputs["pipelineDescription"]
        assert f"quality gate ({described})" in pipe.inputs["pipelineDescription"]  # what the plan names
        steps = json.loads(pipe.inputs["pipelineDefinition"])["Steps"]
        (gate,) = [s for s in steps if s["Name"] == "gate"]
        (condition,) = gate["Arguments"]["Conditions"]
        assert condition["Type"] == condition_type, name
        assert condition["LeftValue"]["Std:JsonGet"]["Path"] == path, name
        assert gate["Description"] == described
    image = next(s for s in json.loads(pipelines["fraud"].inputs["pipelineDefinition"])["Steps"]
                 if s["Name"] == "train")["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith("/sagemaker-xgboost:3.2-0")


def test_level4_monitors_each_project_as_its_problem_type(graph):
    s, g = graph
    jobs = g.by_type("aws-native:sagemaker:ModelQualityJobDefinition")
    if s.maturity < 4:
        assert jobs == []
        return
    found = {j.inputs["jobDefinitionName"].split("-")[2]: j for j in jobs}
    assert sorted(found) == sorted(EXPECTED)
    for name, (kind, *_rest) in EXPECTED.items():
        assert found[name].inputs["modelQualityAppSpecification"]["problemType"] == MONITOR_PROBLEM[kind]
    attrs = {n: found[n].inputs["modelQualityJobInput"]["endpointInput"] for n in found}
    assert attrs["demand"]["inferenceAttribute"] == "predictions[*].value" and "probabilityAttribute" not in attrs["demand"]
    assert attrs["species"]["inferenceAttribute"] == "predictions[*].label"
    assert "probabilityAttribute" not in attrs["species"]
    assert attrs["fraud"]["probabilityAttribute"] == "predictions[*].score"
    alarms = {r.inputs["name"]: r.inputs for r in g.by_type("aws:cloudwatch/metricAlarm:MetricAlarm")
              if r.inputs["name"].endswith("-model-quality")}
    assert {n: (a["metricName"], a["comparisonOperator"], a["threshold"]) for n, a in alarms.items()} == {
        "acme-prod-demand-model-quality": ("rmse", "GreaterThanThreshold", 60.0),
        "acme-prod-species-model-quality": ("weighted_f1", "LessThanThreshold", 0.85),
        "acme-prod-fraud-model-quality": ("auc", "LessThanThreshold", 0.9)}


def test_plan_json_names_the_gates(tmp_path: Path):
    f = write(tmp_path, mixed(2, "dev"))
    result = runner.invoke(app, ["plan", "--stack-file", str(f), "--json"])
    assert result.exit_code == 0, result.output
    text = result.output
    for _, _, _, described in EXPECTED.values():
        assert f"quality gate ({described})" in text


# ---- passes the policy pack -------------------------------------------------------------------------------

def test_the_mixed_stack_passes_the_policy_pack(graph):
    s, g = graph
    report = policy_runner.run_checks(g, s)
    assert report.mandatory == [], "\n".join(f"{v.rule} {v.name}: {v.message}" for v in report.mandatory)


def test_ladder_check_passes_the_mixed_stack(tmp_path: Path):
    f = write(tmp_path, mixed(4, packages={n: package_arn(n) for n in EXPECTED}))
    result = runner.invoke(app, ["check", "--stack-file", str(f)])
    assert result.exit_code == 0, result.output


# ---- spec errors name the key --------------------------------------------------------------------------

GATE = "mlops:projects[0].training.qualityGate"
BAD = [
    # (project, key path, words)
    ({"problemType": "regression", "training": {"qualityGate": {"metric": "auc", "min": 0.8}}},
     f"{GATE}.metric", "'auc' is not a regression metric"),
    ({"problemType": "multiclass", "training": {"qualityGate": {"metric": "rmse", "max": 3}}},
     f"{GATE}.metric", "allowed for problemType multiclass: accuracy (min), f1_macro (min)"),
    ({"problemType": "binary", "training": {"qualityGate": {"metric": "f1_macro", "min": 0.7}}},
     f"{GATE}.metric", "f1_macro is a multiclass metric"),
    ({"problemType": "regression"}, GATE, "required for problemType regression"),
    ({"training": {"qualityGate": {"metric": "auc", "min": 0.8, "max": 0.95}}}, f"{GATE}.max",
     "not allowed together with min: give exactly one bound"),
    ({"training": {"qualityGate": {"metric": "rmse", "min": 1, "max": 5}}}, f"{GATE}.min",
     "not allowed together with max"),
    ({"training": {"qualityGate": {"metric": "r2"}}}, f"{GATE}.min", "required: a gate needs exactly one bound"),
    ({"training": {"qualityGate": {"metric": "rmse", "min": 5}}}, f"{GATE}.min",
     "rmse is lower-is-better (the model registers when rmse <= max); use max"),
    ({"training": {"qualityGate": {"metric": "auc", "max": 0.2}}}, f"{GATE}.max",
     "auc is higher-is-better (the model registers when auc >= min); use min"),
    ({"training": {"qualityGate": {"metric": "r2", "min": 1.2}}}, f"{GATE}.min", "r2 is at most 1"),
    ({"training": {"qualityGate": {"metric": "mae", "max": -0.1}}}, f"{GATE}.max", "mae is never negative"),
    ({"training": {"qualityGate": {"metric": "f1_weighted", "min": 1.5}}}, f"{GATE}.min", "0 <= min <= 1"),
    ({"training": {"qualityGate": {"metric": "rmse", "max": "small"}}}, f"{GATE}.max", "valid number"),
    ({"problemType": "ranking"}, "mlops:projects[0].problemType", "'binary', 'multiclass' or 'regression'"),
    ({"data": {"label": "y", "categorical": ["y", "store"]}}, "mlops:projects[0].data.categorical",
     "'y' is the label"),
    ({"data": {"label": "y", "drop": ["y"]}}, "mlops:projects[0].data.drop", "'y' is the label"),
    ({"data": {"label": "y", "categorical": ["store"], "drop": ["store", "id"]}}, "mlops:projects[0].data.drop",
     "'store' also in data.categorical"),
    ({"data": {"label": "y", "categorical": ["store", "store"]}}, "mlops:projects[0].data.categorical",
     "'store' is listed twice"),
    ({"data": {"label": ""}}, "mlops:projects[0].data.label", "is not a column name"),
    ({"data": {"label": "y", "drop": [" id"]}}, "mlops:projects[0].data.drop", "no leading or trailing spaces"),
    ({"data": {"label": "{{ cookiecutter.x }}"}}, "mlops:projects[0].data.label", "template delimiters"),
    ({"data": {"categorical": ["store"]}}, "mlops:projects[0].data.label", "required"),
    ({"data": {"label": "y", "features": ["a"]}}, "mlops:projects[0].data.features", "unknown key"),
    ({"training": {"qualityGate": {"metric": "mape", "max": 0.2}}, "monitoring": {"modelQuality": True}},
     "mlops:projects[0].monitoring.modelQuality", "computes no 'mape'"),
]


@pytest.mark.parametrize("project,path,words", BAD, ids=[f"{b[1].split('.', 1)[-1]}:{b[2][:24]}" for b in BAD])
def test_bad_problem_type_settings_are_one_clear_error(project, path, words):
    cfg = mixed(2, "dev", [{"name": "p", **project}])
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(cfg, source="stacks/Pulumi.bad.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"stacks/Pulumi.bad.yaml: {path}: "), lines
    assert words in lines[0], lines


def test_ladder_validate_exits_2_naming_the_key(tmp_path: Path):
    f = write(tmp_path, mixed(2, "dev", [{"name": "p", "training": {"qualityGate": {"metric": "rmse", "min": 5}}}]))
    result = runner.invoke(app, ["validate", "--stack-file", str(f)])
    assert result.exit_code == 2
    assert "mlops:projects[0].training.qualityGate.min: not allowed: rmse is lower-is-better" in result.output
    assert "Traceback" not in result.output


# ---- applies in the sandbox (moto + the emulation) -------------------------------------------------------

def _approved_package(client, bucket: str, project: str, group: str, image: str) -> str:
    """An Approved package whose framework image is the project's (the endpoint emulation serves either)."""
    from tests.helpers import model_archive

    key = f"{project}/models/v1/model.tar.gz"
    client("s3").put_object(Bucket=bucket, Key=key, Body=model_archive())
    return client("sagemaker").create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": f"s3://{bucket}/{key}",
                                                "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"],
                                "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"]})["ModelPackageArn"]


@pytest.mark.slow
def test_the_mixed_stack_applies_in_the_sandbox(tmp_path: Path):
    import boto3

    from modules.pipeline_definition import SUPPORTED_FRAMEWORKS, image_uri
    from modules.sandbox import state as sandbox
    from modules.sandbox.server import MotoServer
    from tests.helpers import fresh, sandbox_env

    with MotoServer() as server, sandbox_env(server.endpoint):
        fresh(server)  # moto's state is per process: start from nothing, leave nothing (below)
        def aws(service: str):
            return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")

        def apply(cfg: dict[str, Any], stack: str):
            return sandbox.apply(spec.from_config(cfg, source="<mixed>", stack=stack), cfg, state_dir=tmp_path)

        sm = aws("sagemaker")
        # level 2 (dev): every pipeline is created in moto with its own gate
        apply(mixed(2, "dev"), "dev")
        for name, (_, condition_type, path, _) in EXPECTED.items():
            definition = json.loads(sm.describe_pipeline(PipelineName=f"acme-dev-{name}-training")["PipelineDefinition"])
            (gate,) = [s for s in definition["Steps"] if s["Name"] == "gate"]
            assert gate["Arguments"]["Conditions"][0]["Type"] == condition_type
            assert gate["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]["Path"] == path
        sandbox.destroy("dev", state_dir=tmp_path)

        # level 4 (prod): registries first, then an approved package per project -> endpoints and monitors
        first = apply(mixed(4), "prod")
        bucket = first.outputs["artifactBucket"]
        packages = {}
        for project in PROJECTS:
            framework = project.get("framework", "sklearn")
            image = image_uri(framework, SUPPORTED_FRAMEWORKS[framework]["version"], "us-east-1", "inference",
                              "ml.m5.large")
            packages[project["name"]] = _approved_package(aws, bucket, project["name"],
                                                          f"acme-prod-{project['name']}", image)
        result = apply(mixed(4, packages=packages), "prod")
        assert result.failed == [] and not result.of("replaced")
        assert "aws-native:sagemaker:ModelQualityJobDefinition" in {c.type for c in result.of("created")}
        for name, (kind, *_rest) in EXPECTED.items():
            assert sm.describe_endpoint(EndpointName=f"acme-prod-{name}")["EndpointStatus"] == "InService"
            job = sm.describe_model_quality_job_definition(JobDefinitionName=f"acme-prod-{name}-quality")
            assert job["ModelQualityAppSpecification"]["ProblemType"] == MONITOR_PROBLEM[kind]
            found = job["ModelQualityJobInput"]["EndpointInput"]
            assert found["InferenceAttribute"] == ("predictions[*].value" if kind == "regression"
                                                   else "predictions[*].label")
            assert ("ProbabilityAttribute" in found) == (kind == "binary")
        model = sm.describe_model(ModelName=sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(
            EndpointName="acme-prod-fraud")["EndpointConfigName"])["ProductionVariants"][0]["ModelName"])
        assert model["PrimaryContainer"]["ModelPackageName"] == packages["fraud"]
        alarms = {a["AlarmName"]: a for a in aws("cloudwatch").describe_alarms()["MetricAlarms"]}
        demand = alarms["acme-prod-demand-model-quality"]
        assert (demand["MetricName"], demand["ComparisonOperator"], demand["Threshold"]) == \
            ("rmse", "GreaterThanThreshold", 60.0)
        assert alarms["acme-prod-species-model-quality"]["MetricName"] == "weighted_f1"
        assert apply(mixed(4, packages=packages), "prod").counts["created"] == 0
        sandbox.destroy("prod", state_dir=tmp_path)
        assert sm.list_endpoints()["Endpoints"] == []
        fresh(server)


# ---- the pipelines run in the sandbox and gate each problem type on its own metric --------------------------

E2E_PROJECTS = [
    # Ridge on the bundled diabetes sample reaches rmse ~56 (test_template); wine with xgboost f1_weighted ~0.95
    {"name": "demand", "training": {"qualityGate": {"metric": "rmse", "max": 65}}},
    {"name": "species", "framework": "xgboost", "problemType": "multiclass",
     "training": {"qualityGate": {"metric": "f1_weighted", "min": 0.8}}},
]


@pytest.mark.slow
def test_each_problem_type_trains_and_gates_through_the_platform_pipeline(tmp_path: Path):
    """The platform's definition (gate on <group>.<metric>.value, >= min or <= max) executed on the baked
    repository's own step code: what evaluate writes is what the gate reads, for regression and an xgboost
    multiclass model; an rmse above the gate's max fails the run at the Fail step and registers nothing; at level 3
    each approved package is served by its framework container (sklearn / XGBoost, emulated), the project's own
    smoke test passes and the answers have the problem type's shape."""
    import os
    import subprocess
    import sys

    import boto3

    from modules import scaffold
    from modules.sandbox import state as sandbox
    from modules.sandbox.server import MotoServer
    from tests.helpers import fresh, github_token

    cfg = mixed(2, "dev", E2E_PROJECTS)
    cfg["mlops:github"] = {"org": "acme-ml"}
    server = MotoServer(workdir=str(tmp_path / "emulation")).start()
    fresh(server)
    try:
        s = spec.from_config(cfg, source="<e2e>", stack="e2e")
        outputs = sandbox.apply(s, cfg, endpoint=server.endpoint, state_dir=tmp_path / "state").outputs

        def client(service: str, creds: dict | None = None):
            keys = {} if creds is None else {"aws_access_key_id": creds["AccessKeyId"],
                                             "aws_secret_access_key": creds["SecretAccessKey"],
                                             "aws_session_token": creds["SessionToken"]}
            return boto3.client(service, region_name="us-east-1", endpoint_url=server.endpoint, **keys)

        def ci_run(name: str, repo: Path):
            creds = client("sts").assume_role_with_web_identity(
                RoleArn=outputs["projects"][name]["ciRoleArn"], RoleSessionName="gh",
                WebIdentityToken=github_token(f"repo:acme-ml/{name}:ref:refs/heads/main"))["Credentials"]
            sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                 check=True).stdout.strip()
            env = {**os.environ, "PYTHONPATH": "src:.", "AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
                   "AWS_SESSION_TOKEN": creds["SessionToken"], "GITHUB_SHA": sha}
            proc = subprocess.run([sys.executable, "-m", "pipelines.run_pipeline", "--env", "dev", "--project", name,
                                   "--json", "--seed-sample-data"], cwd=repo, env=env, capture_output=True, text=True,
                                  timeout=600)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            return server.gateway.pipelines.wait(json.loads(proc.stdout)["execution_arn"], 900)

        repos, packages = {}, {}
        # the repositories are baked at level 3 (they also hold deploy/smoke_test.py, used once the stack serves)
        s3 = spec.from_config(mixed(3, "dev", E2E_PROJECTS), source="<e2e>", stack="e2e")
        for project in s.projects:
            repo = scaffold.bake(scaffold.context_for(s3, s3.project(project.name)), tmp_path / "projects")
            git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
            subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
            subprocess.run([*git, "add", "-A"], check=True)
            subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
            repos[project.name] = repo
            execution = ci_run(project.name, repo)
            assert execution.status == "Succeeded", execution.failure
            assert [st.name for st in execution.steps.values()] == ["preprocess", "train", "evaluate", "baseline",
                                                                  "gate", "register"]
            desc = client("sagemaker").describe_model_package(ModelPackageName=execution.summary()["modelPackageArn"])
            uri = desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"][5:]
            report = json.loads(client("s3").get_object(Bucket=uri.split("/", 1)[0],
                                                        Key=uri.split("/", 1)[1])["Body"].read())
            group = {"regression": "regression_metrics",
                     "multiclass": "multiclass_classification_metrics"}[project.problem_type]
            gate = project.training.quality_gate
            value = report[group][gate.metric]["value"]
            assert value <= gate.threshold if gate.bound == "max" else value >= gate.threshold
            packages[project.name] = execution.summary()["modelPackageArn"]

        # the same regression project with a max no model reaches: the gate fails the run, nothing registers
        strict = copy.deepcopy(cfg)
        strict["mlops:projects"][0]["training"]["qualityGate"] = {"metric": "rmse", "max": 1}
        sandbox.apply(spec.from_config(strict, source="<e2e>", stack="e2e"), strict, endpoint=server.endpoint,
                      state_dir=tmp_path / "state")
        failed = ci_run("demand", repos["demand"])
        assert failed.status == "Failed"
        assert "gate" in failed.steps and "register" not in failed.steps
        assert "rmse is above the threshold 1 (rmse <= 1 required)" in (failed.failure or "")

        # level 3 serves each approved package in its own framework container (scikit-learn for the regression
        # project, XGBoost for the multiclass one): the project's smoke test passes against it and held-out rows
        # get the problem type's answer ({"value"} / {"label" among the classes, "score"})
        sm = client("sagemaker")
        for arn in packages.values():
            sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        served = mixed(3, "dev", E2E_PROJECTS, packages=packages)
        endpoints = sandbox.apply(spec.from_config(served, source="<e2e>", stack="e2e"), served,
                                  endpoint=server.endpoint, state_dir=tmp_path / "state").outputs["projects"]
        runtime = client("sagemaker-runtime")
        env = {**os.environ, "PYTHONPATH": "src:.", "AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": "us-east-1"}
        for name, repo in repos.items():
            smoke = subprocess.run([sys.executable, "-m", "deploy.smoke_test", "--env", "dev", "--poll", "1",
                                    "--timeout", "120"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
            assert smoke.returncode == 0, smoke.stdout + smoke.stderr
            endpoint = endpoints[name]["endpointName"]
            assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
            width = 13 if name == "species" else 10  # wine's and diabetes' feature counts
            rows = "\n".join(",".join([f"{0.1 * (i + 1):.1f}"] * width) for i in range(3))
            answer = json.loads(runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv",
                                                        Accept="application/json", Body=rows.encode())["Body"].read())
            predictions = answer["predictions"]
            assert len(predictions) == 3
            if name == "demand":
                assert all(set(p) == {"value"} and isinstance(p["value"], float) for p in predictions)
            else:
                assert all(set(p) == {"label", "score"} and 0.0 <= p["score"] <= 1.0 for p in predictions)
                assert {p["label"] for p in predictions} <= {0, 1, 2}
    finally:
        server.stop()


@pytest.mark.parametrize("n", range(4))
def test_raising_the_level_of_the_mixed_stack_only_adds(n):
    """Monotone levels hold for every problem type: each URN of level n exists at n+1 with identical inputs."""
    packages = {name: package_arn(name) for name in EXPECTED}
    graphs = []
    for maturity in (n, n + 1):
        cfg = mixed(maturity, "prod", packages=packages)
        graphs.append(plan.run_program(spec.from_config(cfg, source="<mixed>", stack="mixed"), cfg))
    diff = plan.compare(graphs[0], graphs[1])
    assert diff.removed == []
    assert [a.urn for a, _ in diff.changed] == []
    assert len(graphs[1].resources) > len(graphs[0].resources)
