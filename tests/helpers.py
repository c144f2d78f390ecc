"""Shared builders for tests: in-memory stack configs and plans."""

from __future__ import annotations

import copy
import json
from typing import Any

from modules import plan, spec

BASE: dict[str, Any] = {
    "aws:region": "us-east-1",
    "mlops:environment": "dev",
    "mlops:maturity": 2,
    "mlops:owner": "ml-platform@example.com",
    "mlops:org": "acme",
    "mlops:github": {"org": "acme-ml", "platformRepository": "acme-ml/mlops-platform"},
    "mlops:projects": [
        {"name": "churn", "training": {"schedule": "rate(7 days)", "qualityGate": {"metric": "auc", "min": 0.8}}},
        {"name": "fraud", "training": {"qualityGate": {"metric": "f1", "min": 0.7}}},
    ],
}


def config(**overrides: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    for key, value in overrides.items():
        cfg[f"mlops:{key}" if ":" not in key else key] = value
    return cfg


def run(cfg: dict[str, Any], stack: str = "test") -> plan.Graph:
    s = spec.from_config(cfg, source="<test>", stack=stack)
    return plan.run_program(s, cfg)


def policy(resource: plan.Resource, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def fresh(server) -> None:
    """Reset moto (state is per process, shared by every server in it) and the sandbox's emulation."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"), timeout=30).read()


# ---- the sandbox (moto + the emulation) for tests -----------------------------------------------------
FRAMEWORK_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"
SAGEMAKER_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class Sandbox:
    """A started sandbox server (reset) and boto3 clients against it."""

    def __init__(self, tmp_path_factory):
        from modules.sandbox.server import MotoServer

        self.server = MotoServer(workdir=str(tmp_path_factory.mktemp("sandbox"))).start()
        fresh(self.server)  # moto keeps state per process: other test modules may have run in this one

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.server.endpoint)

    def role(self, name: str, statements: list, trust: dict | None = None) -> str:
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or SAGEMAKER_TRUST))["Role"]["Arn"]
        if statements:
            iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": statements}))
        return arn

    def stop(self) -> None:
        self.server.stop()


def github_token(sub: str, aud: str = "sts.amazonaws.com") -> str:
    """An unsigned GitHub Actions OIDC token with the claims trust policies check (the sandbox checks claims)."""
    import base64

    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    claims = {"iss": "https://token.actions.githubusercontent.com", "aud": aud, "sub": sub}
    return f"{part({'alg': 'none'})}.{part(claims)}."


# ---- an Approved model package the sandbox endpoint can serve ---------------------------------------------
SERVE_CODE = """
import pickle, pathlib
def model_fn(model_dir):
    return pickle.loads((pathlib.Path(model_dir) / "model.pkl").read_bytes())
"""


def model_archive(code: str = SERVE_CODE) -> bytes:
    """model.tar.gz: a fitted one-feature classifier and code/inference.py (handlers inside the artefact)."""
    import io
    import pickle
    import tarfile

    from sklearn.linear_model import LogisticRegression

    files = {"model.pkl": pickle.dumps(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])),
             "code/inference.py": code.encode()}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def approved_package(client, bucket: str, project: str, group: str, code: str = SERVE_CODE,
                     version_key: str = "v1") -> str:
    """Register (as the pipeline's register step would) and approve a package whose artefact is under the
    project's prefix of the stack's bucket; returns its ARN. ``client(service)`` -> boto3 client on the sandbox."""
    key = f"{project}/models/{version_key}/model.tar.gz"
    client("s3").put_object(Bucket=bucket, Key=key, Body=model_archive(code))
    sm = client("sagemaker")
    arn = sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": FRAMEWORK_IMAGE, "ModelDataUrl": f"s3://{bucket}/{key}",
                                                "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                                                                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"],
                                "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"]})["ModelPackageArn"]
    return arn


def sandbox_env(endpoint: str):
    """AWS_ENDPOINT_URL and dummy credentials for the block (what boto3 and the sandbox engine read)."""
    from modules.plan import temporary_env

    return temporary_env({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                          "AWS_SECRET_ACCESS_KEY": "testing"})


def synthetic_rows(n, shift=0.0, cats=("a", "b", "c"), weights=None, missing=0.0, width=3):
    """Synthetic headerless records (a Fractional, an Integral, a String column); the same arguments give the same
    rows whatever tests run before (the seed comes from the arguments)."""
    import numpy as np

    rng = np.random.default_rng([n, int(shift * 100), len(cats), int(missing * 100), width,
                                 int(100 * (weights or [0])[0])])
    out = []
    for _ in range(n):
        row = [f"{rng.normal() + shift:.4f}", str(int(rng.integers(0, 5))), str(rng.choice(cats, p=weights))]
        if missing and rng.random() < missing:
            row[1] = ""
        out.append(row[:width] + [str(int(rng.integers(0, 9)))] * (width - 3))
    return out
