"""Secrets never leave a run: plan, check, --json, notes, errors and the sandbox's state and output.

Pulumi shows a secret-marked value as ``[secret]`` in previews and keeps it encrypted in state
(https://www.pulumi.com/docs/iac/concepts/secrets/); the offline engines do the same. A stack file's
``{secure: v1:...}`` value can only be decrypted by the Pulumi CLI with the stack's secrets provider, so the
offline engines report it and never use the ciphertext as the token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modules import plan, spec
from modules.cli import app
from modules.components import deployment
from tests.helpers import config

TOKEN = "ghp_TESTtoken0123456789abcdefABCDEF0123456789"
CONNECTION = "aws:cloudwatch/eventConnection:EventConnection"
runner = CliRunner()


def _stack_file(tmp_path: Path, token, name: str = "sec") -> Path:
    cfg = config(maturity=3, projects=[{"name": "churn"}])
    cfg["mlops:githubToken"] = token
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return path


def _invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def clear_text_stack(tmp_path_factory) -> Path:
    return _stack_file(tmp_path_factory.mktemp("secrets"), TOKEN)


@pytest.mark.parametrize("args", [("plan", "--json"), ("plan",), ("check", "--json"), ("check",)])
def test_plan_and_check_never_print_the_token(clear_text_stack, args):
    result = _invoke(*args, "--stack-file", str(clear_text_stack))
    assert result.exit_code in (0, 1), result.output
    assert TOKEN not in result.output and "Bearer ghp" not in result.output
    if args == ("plan", "--json"):
        doc = json.loads(result.output)
        (conn,) = [r for r in doc["resources"] if r["type"] == CONNECTION]
        assert conn["inputs"]["authParameters"] == plan.REDACTED  # as `pulumi preview` shows it
    if args == ("plan",):  # the clear-text stack file is called out
        assert "stored in clear text" in " ".join(result.output.split())


def test_graph_redacts_inputs_outputs_and_notes_but_keeps_other_marked_values():
    cfg = config(maturity=3, projects=[{"name": "churn"}])
    cfg["mlops:githubToken"] = TOKEN
    s = spec.from_config(cfg, source="<test>", stack="test")
    g = plan.run_program(s, cfg, secret_keys=["mlops:githubToken"])
    assert TOKEN not in json.dumps(g.to_json(full=True)) + json.dumps(g.outputs) + json.dumps(g.notes)
    conn = g.find(CONNECTION, "churn-approval-github-connection")
    assert conn.inputs["authParameters"] == plan.REDACTED
    assert not any("clear text" in n for n in g.notes)  # the caller said it came from secure config
    # pulumi-aws marks every SSM parameter value secret: those are names the checks need, not config secrets
    param = next(r for r in g.by_type("aws:ssm/parameter:Parameter") if r.name.endswith("contract-artifact-bucket"))
    assert param.inputs["value"] == g.outputs["artifactBucket"]


def test_encrypted_value_is_reported_and_not_used_as_the_token(tmp_path):
    path = _stack_file(tmp_path, {"secure": "v1:AAAAciphertextCIPHERTEXT0123456789=="})
    result = _invoke("plan", "--stack-file", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert "ciphertext" not in result.output.lower()
    (conn,) = [r for r in json.loads(result.output)["resources"] if r["type"] == CONNECTION]
    assert conn["inputs"]["authParameters"] == plan.REDACTED  # a placeholder, shown like the token it stands for
    assert deployment.TOKEN_PLACEHOLDER not in result.output
    text = " ".join(_invoke("plan", "--stack-file", str(path)).output.split())
    assert "Pulumi-encrypted" in text and "cannot be decrypted offline" in text


UNMARKED_PROGRAM = '''
import pulumi, pulumi_aws as aws
value = pulumi.runtime.get_config("mlops:githubToken")   # read without get_secret: not secret-marked
aws.ssm.Parameter("leak", name="/x/leak", type="String", value="x", description=f"token {value}")
if pulumi.runtime.get_config("mlops:fail"):
    raise RuntimeError(f"provider refused Authorization: Bearer {value}")
pulumi.export("echo", value)
'''


@pytest.mark.parametrize("fail", [False, True])
def test_a_secret_used_unmarked_is_still_scrubbed(tmp_path, fail):
    program = tmp_path / "__main__.py"
    program.write_text(UNMARKED_PROGRAM)
    cfg = config(maturity=0)
    s = spec.from_config(cfg, source="<test>", stack="test")
    cfg = {**cfg, "mlops:githubToken": TOKEN, **({"mlops:fail": "yes"} if fail else {})}
    if fail:
        with pytest.raises(plan.ProgramError) as err:
            plan.run_program(s, cfg, program=program)
        assert TOKEN not in str(err.value) and plan.REDACTED in str(err.value)
        return
    g = plan.run_program(s, cfg, program=program)
    assert g.find("aws:ssm/parameter:Parameter", "leak").inputs["description"] == f"token {plan.REDACTED}"
    assert g.outputs["echo"] == plan.REDACTED
    assert TOKEN not in json.dumps(g.to_json(full=True))


@pytest.mark.slow
def test_sandbox_state_and_output_never_hold_the_token(clear_text_stack, tmp_path):
    from modules.sandbox.server import MotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL",)}
    with MotoServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        try:
            up = _invoke("up", "--sandbox", "--stack-file", str(clear_text_stack), "--state-dir", str(tmp_path),
                         "--json")
            again = _invoke("up", "--sandbox", "--stack-file", str(clear_text_stack), "--state-dir", str(tmp_path))
            state = {f: f.read_text(errors="replace") for f in tmp_path.rglob("*") if f.is_file()}
            down = _invoke("down", "--sandbox", "--stack-file", str(clear_text_stack), "--state-dir", str(tmp_path))
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert up.exit_code == 0, up.output
    assert again.exit_code == 0 and down.exit_code == 0, again.output + down.output
    for result in (up, again, down):
        assert TOKEN not in result.output
    assert any(f.suffix == ".json" for f in state), state.keys()
    assert not [f for f, text in state.items() if TOKEN in text]
    assert plan.REDACTED in "".join(state.values())  # the connection's auth parameters, as Pulumi keeps them
