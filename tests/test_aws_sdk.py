"""modules/components/sdk.py registers what the typed pulumi-aws / pulumi-aws-native classes register (issue 17).

The generic registration (pulumi.CustomResource with aws_sdk.json's facts) must send the Pulumi engine the very
RegisterResource requests the typed classes send, or `pulumi up` would differ from what was planned and tested:
each stack below is run both ways (LADDER_TYPED_AWS=1 is the typed classes) and every request of a custom resource
is compared field by field: type, name, parent, the serialized inputs (secret markers included), provider and
version, aliases, additional secret outputs, dependencies, protect/retain/ignoreChanges. Only the caller's source
position differs, by construction.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format

from modules import plan, spec
from modules.components import sdk
from tests.helpers import config

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/1"
NETWORK = {"vpcId": "vpc-0123abcd", "subnetIds": ["subnet-0123abcd", "subnet-4567ef01"],
           "securityGroupIds": ["sg-0123abcd"]}


def _level4() -> dict:
    cfg = config(maturity=4, environment="prod", network=NETWORK)
    churn, fraud = cfg["mlops:projects"]
    churn.update(serving={"minInstances": 2, "maxInstances": 4, "modelPackageArn": ARN},
                 monitoring={"schedule": "hourly", "modelQuality": True, "bias": {}, "explainability": {}},
                 registry={"shareWith": ["210987654321"]})
    fraud.update(serving={"minInstances": 2}, framework="xgboost")
    return cfg


STACKS = {
    "level-0": config(maturity=0),
    "level-2": config(maturity=2),
    "level-4-prod-vpc-monitors-sharing": _level4(),
}


def _requests(cfg: dict, typed: bool, monkeypatch, program: Path | None = None) -> dict[str, dict]:
    from pulumi.runtime import mocks

    monkeypatch.setenv("LADDER_TYPED_AWS", "1" if typed else "0")
    sdk._class.cache_clear()
    seen: dict[str, dict] = {}
    original = mocks.MockMonitor.RegisterResource

    def record(self, request):
        message = json_format.MessageToDict(request)
        for noise in ("sourcePosition", "stackTrace"):  # where the class was called from
            message.pop(noise, None)
        # the engine reads dependencies as sets (the order is that of the asyncio gather, not meaningful)
        message["dependencies"] = sorted(message.get("dependencies", []))
        for deps in message.get("propertyDependencies", {}).values():
            deps["urns"] = sorted(deps.get("urns", []))
        seen[f"{request.type}::{request.name}"] = message
        return original(self, request)

    monkeypatch.setattr(mocks.MockMonitor, "RegisterResource", record)
    try:
        plan.run_program(spec.from_config(copy.deepcopy(cfg), source="<test>", stack="test"), copy.deepcopy(cfg),
                         **({"program": program} if program else {}))
    finally:
        monkeypatch.undo()
        sdk._class.cache_clear()
    return seen


@pytest.mark.parametrize("name", list(STACKS))
def test_generic_registration_equals_the_typed_classes(name, monkeypatch):
    generic = _requests(STACKS[name], typed=False, monkeypatch=monkeypatch)
    typed = _requests(STACKS[name], typed=True, monkeypatch=monkeypatch)
    assert sorted(generic) == sorted(typed)
    custom = [k for k in typed if not k.startswith("pulumi:providers:") and typed[k].get("custom")]
    assert len(custom) > 10
    for key in typed:
        assert generic[key] == typed[key], key


OPTIONS_PROGRAM = """
import pulumi
from modules.components.sdk import aws
aws.iam.Role("r", assume_role_policy="{}", max_session_duration=3600, opts=pulumi.ResourceOptions(
    ignore_changes=["max_session_duration", "name_prefix", "tags"], additional_secret_outputs=["unique_id"],
    replace_on_changes=["permissions_boundary"]))
aws.ssm.Parameter("p", name="/x", type="String", value="v", opts=pulumi.ResourceOptions(retain_on_delete=True))
"""


def test_option_property_names_are_translated_as_the_typed_class_does(tmp_path, monkeypatch):
    """runtime/resource.py translates ignoreChanges/replaceOnChanges/additionalSecretOutputs with a typed class's
    metadata; a generic resource would send max_session_duration as is (an ignore_changes that ignores nothing)."""
    program = tmp_path / "__main__.py"
    program.write_text(OPTIONS_PROGRAM)
    cfg = config(maturity=0)
    generic = _requests(cfg, typed=False, monkeypatch=monkeypatch, program=program)
    typed = _requests(cfg, typed=True, monkeypatch=monkeypatch, program=program)
    role = typed["aws:iam/role:Role::r"]
    assert role["ignoreChanges"] == ["maxSessionDuration", "namePrefix", "tags"]
    assert "uniqueId" in role["additionalSecretOutputs"] and role["replaceOnChanges"] == ["permissionsBoundary"]
    assert generic == typed


def test_the_stacks_declare_every_class_of_the_table():
    """Each table entry is exercised by the equivalence test above (else its facts would be untested)."""
    declared = set()
    for cfg in STACKS.values():
        graph = plan.run_program(spec.from_config(copy.deepcopy(cfg), source="<test>", stack="test"), cfg)
        declared |= {r.type for r in graph.resources}
    tokens = {meta["token"] for meta in sdk._table()["resources"].values()}
    assert tokens - declared == set()


def test_the_table_is_fresh_for_the_installed_packages():
    """A pulumi-aws upgrade, or a component declaring a new class, must regenerate aws_sdk.json."""
    result = subprocess.run([sys.executable, "scripts/gen_aws_sdk.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_a_generic_class_refuses_what_the_typed_class_refuses():
    import pulumi

    role = sdk._class("aws.iam.Role")
    assert role.__name__ == "Role" and issubclass(role, pulumi.CustomResource)
    with pytest.raises(TypeError, match="unexpected keyword argument 'assume_role_polcy'"):
        role("r", assume_role_polcy="{}")
    with pytest.raises(TypeError, match="Missing required property 'type'"):
        sdk._class("aws.ssm.Parameter")("p", name="/x", value="v")
    with pytest.raises(TypeError, match="keyword arguments"):
        role("r", {"assume_role_policy": "{}"})  # an Args object or a dict in the options' place


def test_a_table_read_from_another_pulumi_aws_version_is_not_trusted(monkeypatch, capsys):
    import pulumi_aws

    table = copy.deepcopy(sdk._table())
    table["versions"]["pulumi_aws"] = "0.0.1"
    monkeypatch.setattr(sdk, "_table", lambda: table)
    sdk._class.cache_clear()
    sdk._table_matches.cache_clear()
    try:
        assert sdk._class("aws.iam.Role") is pulumi_aws.iam.Role  # the typed class: correct, if slower
        assert "was read from 0.0.1" in capsys.readouterr().err
    finally:
        sdk._class.cache_clear()
        sdk._table_matches.cache_clear()


def test_nested_inputs_are_translated_by_type_and_user_maps_are_not():
    shape = sdk._table()["resources"]["aws.s3.BucketLifecycleConfiguration"]["inputs"]["rules"][1]
    rule = {"id": "expire", "status": "Enabled", "noncurrent_version_expiration": {"noncurrent_days": 30},
            "filter": {"prefix": "tmp/"}}
    (out,) = sdk.translate([rule], shape, "rules")
    assert out["noncurrentVersionExpiration"] == {"noncurrentDays": 30} and out["filter"] == {"prefix": "tmp/"}
    tags = sdk._table()["resources"]["aws.iam.Role"]["inputs"]["tags"][1]
    assert tags is None  # a user map: its keys (e.g. "key_id") are never renamed


def test_a_dict_for_a_string_or_document_input_is_refused():
    shape = sdk._table()["resources"]["aws.ecr.LifecyclePolicy"]["inputs"]["policy"][1]
    assert "union" in shape
    with pytest.raises(TypeError, match="pass a JSON string"):
        sdk.translate({"rules": []}, shape, "policy")


def test_plan_loads_no_typed_namespace_of_pulumi_aws():
    """The point of the generic path: a cold plan imports no pulumi_aws.<namespace> type definitions."""
    code = ("import sys\nfrom modules import cli\ntry:\n    cli.main(['plan', '--stack', 'prod'])\n    rc = 0\n"
            "except SystemExit as exc:\n    rc = exc.code\nprint(rc, sorted(m for m in sys.modules if m.startswith("
            "('pulumi_aws.', 'pulumi_aws_native.')) and m.count('.') >= 2), file=sys.stderr)\n")
    # pulumi_aws.<namespace>.<module> in sys.modules: a namespace was loaded; and the plan must have succeeded
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] in ("0 []", "None []"), result.stderr[-2000:]
