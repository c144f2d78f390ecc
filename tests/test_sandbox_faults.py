"""Fault injection on the sandbox (embedded moto server, as tests/test_sandbox.py): an interrupted, killed, failed or
concurrent first `up` converges on the next `up`, and `down` removes everything created; a malformed state or a
dead emulator is one clear error; what the emulator cannot delete is listed."""

from __future__ import annotations

import _thread
import json
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import boto3
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modules import spec as spec_mod
from modules.sandbox import engine
from modules.sandbox import state as sandbox
from modules.sandbox.aws import EmulatorUnavailable, SandboxError
from modules.sandbox.cli import register
from modules.sandbox.server import MotoServer, free_port
from tests.helpers import config

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    saved = os.environ.get("AWS_ENDPOINT_URL")
    with MotoServer() as server:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint
        try:
            yield server.endpoint
        finally:
            if saved is None:
                os.environ.pop("AWS_ENDPOINT_URL", None)
            else:
                os.environ["AWS_ENDPOINT_URL"] = saved


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).read()


@pytest.fixture(autouse=True)
def _fresh(endpoint):
    reset(endpoint)


def client(endpoint, service):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def inventory(endpoint) -> dict[str, list[str]]:
    """What the stack can leave in moto (KMS keys count while not PendingDeletion, as AWS keeps them 7-30 days)."""
    kms = client(endpoint, "kms")
    keys = [k["KeyId"] for k in kms.list_keys()["Keys"]
            if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"]
    return {
        "buckets": [b["Name"] for b in client(endpoint, "s3").list_buckets()["Buckets"]],
        "roles": [r["RoleName"] for r in client(endpoint, "iam").list_roles()["Roles"]],
        "oidc": [p["Arn"] for p in client(endpoint, "iam").list_open_id_connect_providers()[
            "OpenIDConnectProviderList"]],
        "ecr": [r["repositoryName"] for r in client(endpoint, "ecr").describe_repositories()["repositories"]],
        "ssm": [p["Name"] for p in client(endpoint, "ssm").get_parameters_by_path(Path="/", Recursive=True)[
            "Parameters"]],
        "kms keys": keys,
        "kms aliases": [a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith(
            "alias/aws/")],
        "pipelines": [p["PipelineName"] for p in client(endpoint, "sagemaker").list_pipelines()[
            "PipelineSummaries"]],
    }


def empty(endpoint) -> bool:
    left = {k: v for k, v in inventory(endpoint).items() if v}
    assert not left, left
    return True


def spec_of(cfg, stack="test"):
    return spec_mod.from_config(cfg, source="<test>", stack=stack)


class Killed(Exception):
    """Stands for the process dying: the state directory is copied at that moment; what runs after it in this
    process (the run failing) is not what the next `up` sees."""


def kill_at(monkeypatch, n: int, snapshot: Path, state_dir: Path):
    """Serialise resource realisation; just before the (n+1)-th resource, copy the state directory to ``snapshot``
    (exactly what a SIGKILL between two resources leaves on disk) and stop the run."""
    real = engine.SandboxMocks._new_resource
    lock = threading.Lock()
    seen = {"n": 0}

    def wrapped(self, args):
        if not args.custom or args.typ.startswith(("mlops:", "pulumi:providers:")):
            return real(self, args)
        with lock:
            if seen["n"] == n:
                shutil.copytree(state_dir, snapshot, dirs_exist_ok=True)
                seen["n"] += 1
                raise Killed(f"killed before resource {n + 1}")
            if seen["n"] > n:
                raise Killed("dead")
            seen["n"] += 1
            return real(self, args)

    monkeypatch.setattr(engine.SandboxMocks, "_new_resource", wrapped)


FAULTS = settings(max_examples=3, deadline=None, database=None,  # bounded; no .hypothesis/ in the tree
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.slow
@FAULTS
@given(n=st.integers(min_value=0, max_value=30))
def test_a_first_up_killed_at_any_resource_converges_and_down_leaves_nothing(endpoint, tmp_path_factory, n):
    reset(endpoint)
    cfg = config(maturity=2)
    work, snapshot = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("killed")
    with pytest.MonkeyPatch.context() as mp:
        kill_at(mp, n, snapshot, work)
        with pytest.raises(Exception):  # noqa: B017 - the injected kill, however the program reports it
            sandbox.apply(spec_of(cfg), cfg, state_dir=work)
    # the next `up` on what the killed process left converges (no AlreadyExists, nothing created twice)
    again = sandbox.apply(spec_of(cfg), cfg, state_dir=snapshot)
    assert not again.stale
    assert again.counts["unchanged"] == min(n, again.counts["unchanged"] + again.counts["created"])
    down = sandbox.destroy("test", state_dir=snapshot)
    assert not down.failed and not Path(down.state_file).exists()
    assert empty(endpoint)


def test_interrupted_first_up_keeps_the_state_and_converges(endpoint, tmp_path):
    cfg = config(maturity=2)
    created = []

    def interrupt(action, key, type_, name):  # Ctrl-C: SIGINT lands in the main thread while workers create
        created.append(key)
        if len(created) == 6:
            _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path, on_event=interrupt)
    state = sandbox.State.load(sandbox.state_path("test", tmp_path))
    assert state is not None and len(state.resources) >= 6
    second = sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    assert not second.stale and second.counts["unchanged"] >= 6
    third = sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    assert third.counts["created"] == 0 and third.counts["unchanged"] == second.counts["unchanged"] + \
        second.counts["created"]
    sandbox.destroy("test", state_dir=tmp_path)
    assert empty(endpoint)


def test_a_failed_first_up_converges(endpoint, tmp_path, monkeypatch):
    cfg = config(maturity=1)
    real = engine.SandboxMocks._new_resource

    def failing(self, args):
        if args.typ == "aws:ecr/repository:Repository":
            raise SandboxError("injected failure")
        return real(self, args)

    monkeypatch.setattr(engine.SandboxMocks, "_new_resource", failing)
    with pytest.raises(SandboxError):
        sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    monkeypatch.setattr(engine.SandboxMocks, "_new_resource", real)
    buckets = len(inventory(endpoint)["buckets"])
    ok = sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    assert not ok.stale and len(inventory(endpoint)["buckets"]) == buckets  # no leaked second set
    sandbox.destroy("test", state_dir=tmp_path)
    assert empty(endpoint)


def test_journal_records_each_resource_as_it_is_created(endpoint, tmp_path):
    cfg = config(maturity=0)
    lines = []

    def watch(action, key, type_, name):
        journal = sandbox.journal_path(sandbox.state_path("test", tmp_path))
        lines.append(len(journal.read_text().splitlines()))

    result = sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path, on_event=watch)
    # the i-th resource is on disk before Pulumi hears of it (other workers may have added theirs meanwhile)
    assert len(lines) == result.counts["created"] and all(seen >= i for i, seen in enumerate(lines, 1))
    assert not sandbox.journal_path(sandbox.state_path("test", tmp_path)).exists()  # absorbed at the end
    sandbox.destroy("test", state_dir=tmp_path)


def test_torn_last_journal_line_is_ignored(tmp_path):
    path = sandbox.state_path("test", tmp_path)
    sandbox.State(stack="test", region=REGION, token="t").save(path)
    sandbox.journal_path(path).write_text('{"op": "begin", "token": "t"}\n{"op": "put", "entr')
    assert sandbox.State.load(path).resources == {}


# ---- concurrency, malformed state, dead emulator, undeletable resources -----------------------------------------

def cli():
    app = typer.Typer()
    register(app)
    return app


def test_a_second_concurrent_apply_is_refused(endpoint, tmp_path):
    cfg = config(maturity=0)
    path = sandbox.state_path("test", tmp_path)
    with sandbox.StateLock(path, "test"):
        with pytest.raises(SandboxError) as info:
            sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
        assert "being applied or destroyed by ladder pid" in str(info.value)
        with pytest.raises(SandboxError):
            sandbox.destroy("test", state_dir=tmp_path)
    assert sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path).counts["created"] > 0  # released
    sandbox.destroy("test", state_dir=tmp_path)


@pytest.mark.parametrize("doc", [
    [], "text", {"version": 1, "stack": "test", "region": REGION, "resources": []},
    {"version": 1, "stack": "test", "region": REGION, "resources": {"k": 5}},
    {"version": 1, "stack": "test", "region": REGION, "resources": {"k": {"key": "k"}}},
    {"version": 1, "stack": 5, "region": REGION},
    {"version": 1, "stack": "test", "region": REGION, "resources": {"k": {
        "key": "k", "type": "t", "name": "n", "inputs_hash": "h", "id": 7, "inputs": {}, "outputs": {}}}},
])
def test_a_state_file_of_the_wrong_shape_is_one_clear_error(endpoint, tmp_path, doc):
    path = sandbox.state_path("test", tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    with pytest.raises(SandboxError) as info:
        sandbox.State.load(path)
    assert str(path) in str(info.value) and "delete it to start over" in str(info.value)
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 0\n"
                          "  mlops:owner: me\n")
    for verb in ("up", "down"):
        result = CliRunner().invoke(cli(), [verb, "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                            str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert "delete it to start over" in result.output and not isinstance(result.exception, (TypeError,
                                                                                                  KeyError))


def test_a_dead_emulator_is_one_clear_error(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    cfg = config(maturity=0)
    with pytest.raises(EmulatorUnavailable) as info:
        sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path, endpoint=dead)
    assert dead in str(info.value) and "ladder sandbox serve" in str(info.value)
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 0\n"
                          "  mlops:owner: me\n")
    result = CliRunner().invoke(cli(), ["up", "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                        str(tmp_path), "--endpoint", dead])
    assert result.exit_code == 1 and "does not answer" in result.output and "Traceback" not in result.output


def test_an_emulator_that_dies_during_down_is_one_clear_error(tmp_path):
    cfg = config(maturity=0)
    with MotoServer() as server:
        sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path, endpoint=server.endpoint)
        url = server.endpoint
    with pytest.raises(EmulatorUnavailable):
        sandbox.destroy("test", state_dir=tmp_path, endpoint=url)
    assert sandbox.state_path("test", tmp_path).exists()  # nothing forgotten


def test_down_lists_what_the_emulator_cannot_delete_and_keeps_it(endpoint, tmp_path, monkeypatch):
    cfg = config(maturity=0)
    up = sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    real = sandbox.delete_entry

    def refuse(ctx, entry):
        if entry.type == "aws:iam/role:Role":
            raise SandboxError("iam:DeleteRole failed in the sandbox: DeleteConflict")
        real(ctx, entry)

    monkeypatch.setattr(sandbox, "delete_entry", refuse)
    down = sandbox.destroy("test", state_dir=tmp_path)
    assert down.failed and all("aws:iam/role:Role" in f for f in down.failed)
    assert any("could not delete" in m for m in down.messages)
    kept = sandbox.State.load(sandbox.state_path("test", tmp_path))
    assert {e.type for e in kept.resources.values()} == {"aws:iam/role:Role"}
    assert down.counts["deleted"] + len(kept.resources) == up.counts["created"]
    monkeypatch.setattr(sandbox, "delete_entry", real)
    assert not sandbox.destroy("test", state_dir=tmp_path).failed
    assert empty(endpoint)


def test_down_exits_1_and_says_what_it_could_not_delete(endpoint, tmp_path, monkeypatch):
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 0\n"
                          "  mlops:owner: me\n")
    runner = CliRunner()
    args = ["--sandbox", "--stack-file", str(stack_file), "--state-dir", str(tmp_path)]
    assert runner.invoke(cli(), ["up", *args]).exit_code == 0

    def refuse(ctx, entry):
        raise SandboxError("DeleteConflict")

    monkeypatch.setattr(sandbox, "delete_entry", refuse)
    result = runner.invoke(cli(), ["down", *args])
    assert result.exit_code == 1 and "could not delete" in result.output
    monkeypatch.undo()
    assert runner.invoke(cli(), ["down", *args]).exit_code == 0


def test_down_lists_validated_only_resources_as_such(endpoint, tmp_path):
    cfg = config(maturity=2)
    sandbox.apply(spec_of(cfg), cfg, state_dir=tmp_path)
    down = sandbox.destroy("test", state_dir=tmp_path)
    validated = [c for c in down.changes if c.realised == "validated"]
    assert validated  # level 2 has operations moto lacks (e.g. DeleteModelPackageGroup)
    text = " ".join(down.messages)
    assert "validated by botocore, not emulated" in text
    assert all(c.name in text for c in validated)


def test_ctrl_c_on_up_says_what_was_done_and_how_to_resume(endpoint, tmp_path, monkeypatch):
    stack_file = tmp_path / "Pulumi.test.yaml"
    stack_file.write_text("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 0\n"
                          "  mlops:owner: me\n")
    real = sandbox.apply

    def interrupted(spec, config, **kw):
        calls = []

        def on_event(*a):
            calls.append(a)
            if len(calls) == 3:
                _thread.interrupt_main()  # as Ctrl-C does

        return real(spec, config, **{**kw, "on_event": on_event})

    monkeypatch.setattr(sandbox, "apply", interrupted)
    result = CliRunner().invoke(cli(), ["up", "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                        str(tmp_path), "--json"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "recorded in" in result.output
    assert f"ladder up --sandbox --stack-file {stack_file}" in result.output and "ladder down --sandbox" in result.output
    monkeypatch.setattr(sandbox, "apply", real)
    result = CliRunner().invoke(cli(), ["down", "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                        str(tmp_path)])
    assert result.exit_code == 0
    assert empty(endpoint)
