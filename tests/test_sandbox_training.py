"""Level 2 end to end in the sandbox: the platform's own pipeline definition, executed; the project's own CI entry
point (pipelines/run_pipeline.py) as the CI role. Fails on every defect of the review of level 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import boto3
import pytest

from modules import scaffold
from modules import spec as spec_mod
from modules.cli import scaffold_context
from modules.sandbox import state as sandbox
from modules.sandbox.server import MotoServer
from tests.helpers import fresh, github_token

pytestmark = pytest.mark.slow
REGION = "us-east-1"
CONFIG = {"aws:region": REGION, "mlops:environment": "dev", "mlops:maturity": 2, "mlops:owner": "ml@example.com",
          "mlops:org": "acme", "mlops:github": {"org": "acme-ml"},
          "mlops:projects": [{"name": "churn", "training": {"schedule": "rate(7 days)",
                                                             "qualityGate": {"metric": "auc", "min": 0.8}}}]}


def _jwt(sub: str) -> str:
    return github_token(sub)


class Env:
    def __init__(self, server, work: Path):
        self.server, self.work = server, work
        self.spec = spec_mod.from_config(CONFIG, source="<test>", stack="e2e")
        result = sandbox.apply(self.spec, CONFIG, endpoint=server.endpoint, state_dir=work / "state")
        self.outputs = result.outputs
        self.bucket = result.outputs["artifactBucket"]
        self.repo = scaffold.bake(scaffold_context(self.spec, self.spec.project("churn")), work / "projects",
                                  force=True)
        self.git("init", "-q", "-b", "main")
        self.commit("initial")

    def client(self, service, creds=None):
        extra = {}
        if creds:
            extra = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                     "aws_session_token": creds["SessionToken"]}
        return boto3.client(service, region_name=REGION, endpoint_url=self.server.endpoint, **extra)

    def git(self, *args) -> str:
        return subprocess.run(["git", "-C", str(self.repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
                               *args], check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def ci(self, *args, branch="main"):
        """The project's CI step, as GitHub's OIDC token for `branch` lets it: the CI role's credentials."""
        repository = self.spec.repository_of(self.spec.project("churn"))
        creds = self.client("sts").assume_role_with_web_identity(
            RoleArn=self.outputs["projects"]["churn"]["ciRoleArn"], RoleSessionName="gh",
            WebIdentityToken=_jwt(f"repo:{repository}:ref:refs/heads/{branch}"))["Credentials"]
        env = {**os.environ, "PYTHONPATH": "src:.", "AWS_ENDPOINT_URL": self.server.endpoint, "AWS_REGION": REGION,
               "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
               "AWS_SESSION_TOKEN": creds["SessionToken"], "GITHUB_SHA": self.git("rev-parse", "HEAD")}
        return subprocess.run([sys.executable, "-m", "pipelines.run_pipeline", "--env", "dev", "--project", "churn",
                               "--json", *args], cwd=self.repo, env=env, capture_output=True, text=True, timeout=300)

    def run(self, *args):
        proc = self.ci(*args)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        arn = json.loads(proc.stdout)["execution_arn"]
        return self.server.gateway.pipelines.wait(arn, 600)

    def package(self, execution):
        arn = execution.summary()["modelPackageArn"]
        assert arn, execution.failure
        return self.client("sagemaker").describe_model_package(ModelPackageName=arn)

    def artefact(self, desc) -> bytes:
        uri = desc["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        bucket, key = uri[5:].split("/", 1)
        return self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    server = MotoServer(workdir=str(work / "emulation")).start()
    fresh(server)
    try:
        yield Env(server, work)
    finally:
        server.stop()


def test_first_run_without_data_is_refused_with_the_upload_command(env):
    proc = env.ci()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stdout + proc.stderr
    assert "aws s3 cp" in message and f"s3://{env.bucket}/churn/data/" in message
    assert not env.server.gateway.pipelines.executions  # nothing was started


def test_ci_run_trains_through_the_registered_definition(env):
    execution = env.run("--seed-sample-data")
    assert execution.status == "Succeeded", execution.failure
    assert execution.trigger == "ci"
    assert [s.name for s in execution.steps.values()] == ["preprocess", "train", "evaluate", "baseline", "gate",
                                                          "register"]
    assert not any(s.cache_source for s in execution.steps.values())  # caching is off by default
    desc = env.package(execution)
    # the baseline step (Model Monitor's analyzer) wrote the baseline the package records (issue 13)
    baseline = desc["DriftCheckBaselines"]["ModelDataQuality"]
    s3 = env.client("s3")
    for key, file in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
        uri = baseline[key]["S3Uri"]
        assert execution.execution_id in uri and uri.endswith(f"/baseline/{file}") and "//" not in uri[5:]
        body = json.loads(s3.get_object(Bucket=uri[5:].split("/", 1)[0], Key=uri[5:].split("/", 1)[1])["Body"].read())
        # headerless, no true label: the model's label and score (as captured output), then the 30 features
        assert [f["name"] for f in body["features"]] == [f"_c{i}" for i in range(32)]
    assert desc["ModelApprovalStatus"] == "PendingManualApproval"
    meta = desc["CustomerMetadataProperties"]
    assert meta["CodeVersion"] == env.git("rev-parse", "HEAD")
    assert meta["PipelineExecutionArn"] == execution.arn and meta["DataVersion"]
    metrics = desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert execution.execution_id in metrics and "//" not in metrics[5:]  # its own evaluation, one slash
    container = desc["InferenceSpecification"]["Containers"][0]
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    with tarfile.open(fileobj=io.BytesIO(env.artefact(desc))) as tar:
        names = tar.getnames()
    assert "code/inference.py" in names  # the package carries its own inference code (network isolation)
    env.first = execution


def test_two_overlapping_executions_keep_separate_outputs(env):
    sm = env.client("sagemaker")
    pipeline = env.outputs["projects"]["churn"]["pipelineName"]
    version = env.git("rev-parse", "HEAD")
    arns = [sm.start_pipeline_execution(PipelineName=pipeline, PipelineParameters=[
        {"Name": "CodeVersion", "Value": version}])["PipelineExecutionArn"] for _ in range(2)]
    runs = [env.server.gateway.pipelines.wait(a, 600) for a in arns]
    assert [r.status for r in runs] == ["Succeeded"] * 2
    uris = [env.package(r)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] for r in runs]
    artefacts = [r.summary()["modelArtifact"] for r in runs]
    assert uris[0] != uris[1] and artefacts[0] != artefacts[1]


def test_a_code_change_yields_a_different_artefact(env):
    train = next((env.repo / "src").glob("*/train.py"))
    train.write_text(train.read_text() + "\n# a change to the training code\n")
    sha = env.commit("change training code")
    execution = env.run()
    assert execution.status == "Succeeded", execution.failure
    desc = env.package(execution)
    assert desc["CustomerMetadataProperties"]["CodeVersion"] == sha
    first = env.package(env.first)
    assert execution.summary()["modelArtifactSha256"] != env.first.summary()["modelArtifactSha256"]
    assert first["CustomerMetadataProperties"]["CodeVersion"] != sha


def test_ci_role_cannot_register_or_approve(env):
    from botocore.exceptions import ClientError

    repository = env.spec.repository_of(env.spec.project("churn"))
    creds = env.client("sts").assume_role_with_web_identity(
        RoleArn=env.outputs["projects"]["churn"]["ciRoleArn"], RoleSessionName="gh",
        WebIdentityToken=_jwt(f"repo:{repository}:ref:refs/heads/main"))["Credentials"]
    sm = env.client("sagemaker", creds)
    package = env.first.summary()["modelPackageArn"]
    with pytest.raises(ClientError, match="AccessDenied"):
        sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    group = env.package(env.first)["ModelPackageGroupName"]
    with pytest.raises(ClientError, match="AccessDenied"):
        sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="Approved", InferenceSpecification={
            "Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"]})


def test_pull_request_branch_cannot_assume_the_ci_role(env):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="AccessDenied"):
        env.ci(branch="feature")


def test_the_schedule_retrains_the_pinned_code_version_when_the_clock_advances(env):
    """Scheduled runs use the pipeline's defaults: training.codeVersion (pinned by `ladder deploy`, here by hand)."""
    import copy

    sha = env.git("rev-parse", "HEAD")
    cfg = copy.deepcopy(CONFIG)
    cfg["mlops:projects"][0]["training"]["codeVersion"] = sha
    spec = spec_mod.from_config(cfg, source="<test>", stack="e2e")
    sandbox.apply(spec, cfg, endpoint=env.server.endpoint, state_dir=env.work / "state")
    fired = env.server.gateway.tick(7 * 86400 + 60)
    runs = [f for f in fired if f.get("execution")]
    assert runs, fired
    execution = env.server.gateway.pipelines.wait(runs[0]["execution"], 600)
    assert execution.trigger == "schedule" and execution.status == "Succeeded", execution.failure
    assert execution.parameters["CodeVersion"] == sha


def test_ci_role_s3_and_ssm_calls_are_held_to_its_policy(env):
    """The CI job's own S3/SSM calls are evaluated against the CI role: it may write step code, not models or
    another project's prefix, and read only its own contract."""
    from botocore.exceptions import ClientError

    repository = env.spec.repository_of(env.spec.project("churn"))
    creds = env.client("sts").assume_role_with_web_identity(
        RoleArn=env.outputs["projects"]["churn"]["ciRoleArn"], RoleSessionName="gh",
        WebIdentityToken=_jwt(f"repo:{repository}:ref:refs/heads/main"))["Credentials"]
    s3, ssm = env.client("s3", creds), env.client("ssm", creds)
    s3.put_object(Bucket=env.bucket, Key="churn/code/probe/x.py", Body=b"")  # allowed: step code
    for key in ("churn/pipelines/forged/model.tar.gz", "fraud/code/v1/train.py"):
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.put_object(Bucket=env.bucket, Key=key, Body=b"")
    assert ssm.get_parameters_by_path(Path="/mlops/dev/churn", Recursive=True)["Parameters"]
    with pytest.raises(ClientError, match="AccessDenied"):
        ssm.get_parameters_by_path(Path="/mlops/dev/fraud", Recursive=True)
