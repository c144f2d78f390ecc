"""CLI misuse and write failures: one clear message and the right exit code, never a traceback or a hang;
stack-file rewrites are atomic; Ctrl-C says what was done and how to resume (exit 130)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modules import deploy, spec
from modules.cli import app

STACKS = Path(__file__).resolve().parent.parent / "stacks"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/3"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def no_traceback(result) -> bool:
    return result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("argv", [
    ["validate", "--stack", ""], ["plan", "--stack", ""], ["check", "--stack", ""], ["up", "--sandbox", "--stack", ""],
    ["down", "--sandbox", "--stack", ""], ["new", "churn", "--stack", ""],
    ["deploy", "--stack", "", "-p", "churn", "--model-package-arn", ARN, "--no-up"],
    ["validate", "--stack", "../dev"], ["validate", "--stack", "   "],
])
def test_an_empty_or_malformed_stack_name_is_exit_2_not_dev(argv):
    result = run(*argv)
    assert result.exit_code == 2, result.output
    assert "--stack" in result.output and "known stacks" in result.output and no_traceback(result)


def test_new_into_a_file_is_exit_2(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = run("new", "churn", "--stack", "dev", "-o", str(target))
    assert result.exit_code == 2 and "is a file" in result.output and no_traceback(result)
    assert target.read_text() == "x"


def test_new_under_a_file_is_a_write_error_exit_1(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = run("new", "churn", "--stack", "dev", "-o", str(blocker / "sub"))
    assert result.exit_code == 1, result.output
    assert "cannot write the project" in result.output and no_traceback(result)


def test_deploy_to_a_read_only_stack_file_is_exit_1_and_changes_nothing(stacks, monkeypatch):
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_text()
    path.chmod(0o444)
    real_access = deploy.os.access
    # root ignores the mode bits; ask as the owner would be answered
    monkeypatch.setattr(deploy.os, "access",
                        lambda p, mode: False if Path(p) == path and mode & deploy.os.W_OK else real_access(p, mode))
    result = run("deploy", "--stack-file", str(path), "-p", "churn", "--model-package-arn", ARN, "--no-up")
    assert result.exit_code == 1, result.output
    assert "read-only" in result.output and no_traceback(result)
    assert path.read_text() == before


def test_deploy_rewrite_is_atomic_temp_file_and_rename(stacks):
    path = stacks / "Pulumi.staging.yaml"
    inode = path.stat().st_ino
    result = run("deploy", "--stack-file", str(path), "-p", "churn", "--model-package-arn", ARN, "--no-up")
    assert result.exit_code == 0, result.output
    assert path.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert spec.load(path=path).projects[0].serving.model_package_arn == ARN
    assert sorted(p.name for p in stacks.iterdir()) == sorted(p.name for p in STACKS.glob("Pulumi.*.yaml"))


def test_a_failed_rename_leaves_the_stack_file_and_no_temp_file(stacks, monkeypatch):
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_text()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deploy.os, "replace", full_disk)
    result = run("deploy", "--stack-file", str(path), "-p", "churn", "--model-package-arn", ARN, "--no-up")
    assert result.exit_code == 1 and "No space left on device" in result.output and "nothing was changed" in \
        result.output
    assert path.read_text() == before
    assert not [p for p in stacks.iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_during_deploy_says_what_was_done_and_how_to_resume(stacks, monkeypatch):
    path = stacks / "Pulumi.staging.yaml"

    def interrupted(*args, **kwargs):
        deploy._DONE.append("`pulumi up --stack staging` was started")
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "pulumi_up", interrupted)
    result = run("deploy", "--stack-file", str(path), "-p", "churn", "--model-package-arn", ARN)
    assert result.exit_code == 130
    assert "interrupted: wrote modelPackageArn" in result.output and "pulumi up --stack staging" in result.output
    assert f"ladder deploy --stack-file {path} --project churn --model-package-arn {ARN}" in result.output


def test_ctrl_c_before_anything_was_written(stacks, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(deploy, "write_arn", interrupted)
    result = run("deploy", "--stack-file", str(stacks / "Pulumi.staging.yaml"), "-p", "churn",
                 "--model-package-arn", ARN, "--no-up")
    assert result.exit_code == 130 and "nothing was changed" in result.output


def test_serve_on_a_busy_port_fails_at_once_exit_1():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("sandbox", "serve", "--port", str(port), "--stop-after", "30")
    assert result.exit_code == 1, result.output
    assert f"cannot serve on 127.0.0.1:{port}" in result.output and "in use" in result.output
    assert "moto sandbox server on" not in result.output  # nothing started
