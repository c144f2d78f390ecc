"""The GitHub token never leaves an applied sandbox stack: not in `ladder up` output, the state, the approval's
dispatch as recorded, `ladder sandbox report` (text and --json), nor the sandbox server's files (issue 14,
Done when 1).

EventBridge keeps a connection's API key in Secrets Manager and never returns it (DescribeConnection omits
``ApiKeyValue``: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeConnection.html); the
sandbox's receiver standing in for GitHub records the ``Authorization`` header as ``[secret]``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modules import plan
from tests.helpers import Sandbox, fresh
from tests.test_secrets import TOKEN, _invoke, _stack_file


@pytest.mark.slow
def test_an_applied_stack_its_approval_dispatch_and_the_report_hold_no_token(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    tmp = tmp_path_factory.mktemp("applied")
    stack, state = _stack_file(tmp, TOKEN, name="applied"), tmp / "state"
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = box.server.endpoint
    try:
        up = _invoke("up", "--sandbox", "--stack-file", str(stack), "--state-dir", str(state), "--json")
        assert up.exit_code == 0, up.output
        sm = box.client("sagemaker")
        arn = sm.create_model_package(
            ModelPackageGroupName="acme-dev-churn", ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        received = list(box.server.gateway.events.received)
        reports = [_invoke("sandbox", "report", "--endpoint", box.server.endpoint, *flag) for flag in ((), ("--json",))]
        connection = box.client("events").describe_connection(Name="acme-dev-churn-github")
        files = {f: f.read_bytes() for root in (state, Path(box.server.workdir)) for f in root.rglob("*") if f.is_file()}
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None) if saved is None else os.environ.__setitem__("AWS_ENDPOINT_URL", saved)
        fresh(box.server)  # moto keeps state per process: leave none for the next module's sandbox
        box.stop()
    # the approval reached the stand-in for GitHub with the header recorded as a secret
    (request,) = [r for r in received if r["url"].endswith("/repos/acme-ml/mlops-platform/dispatches")]
    assert request["headers"]["Authorization"] == plan.REDACTED
    assert TOKEN not in json.dumps(received, default=str)
    for result in (up, *reports):
        assert result.exit_code == 0, result.output
        assert TOKEN not in result.output and "Bearer ghp" not in result.output
    assert "dispatches" in reports[1].output  # the report does list the delivery
    # EventBridge never returns the key (the emulation must not either)
    assert TOKEN not in json.dumps(connection, default=str)
    assert any(f.suffix == ".json" for f in files), list(files)  # the state, the emulation's job files
    assert not [f for f, data in files.items() if TOKEN.encode() in data]
