"""components.base.policy_json gathers a document's Outputs with one Output.all (issue 17: Output.from_input lifts
every nested dict and list into Outputs of its own, a tenth of a 100-project plan's tasks). It must keep what
from_input gives: the value, secrecy, the resources it depends on, and unknowns (preview)."""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from modules.components.base import policy_json


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", {**args.inputs, "arn": f"arn:aws:s3:::{args.name}"}

    def call(self, args):
        return {}


def _resolve(output: pulumi.Output):
    async def go():
        return await output.future(), await output.is_secret(), {r.urn for r in await output.resources()}, \
            await output.is_known()
    return _sync_await(go())


@pytest.mark.parametrize("preview", [False, True])
def test_policy_json_keeps_value_secrecy_dependencies_and_unknowns_of_from_input(preview):
    pulumi.runtime.set_mocks(_Mocks(), project="p", stack="s", preview=preview)
    bucket = pulumi.CustomResource("aws:s3/bucket:Bucket", "b", {"arn": None})
    secret = pulumi.Output.secret("123456789012")
    unknown = pulumi.Output(set(), _future(None), _future(False))  # an unknown value, as in a preview
    statements = [
        {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [bucket.arn, "arn:aws:s3:::x/*"],
         "Condition": {"StringEquals": {"aws:SourceAccount": secret}}},
        {"Sid": "B", "Effect": "Deny", "Action": "s3:*", "Resource": ("*",), "Principal": {"AWS": ["1", 2]}},
    ]
    ours = _resolve(policy_json(statements))
    theirs = _resolve(pulumi.Output.from_input({"Version": "2012-10-17", "Statement": statements}).apply(
        lambda doc: json.dumps(doc, sort_keys=True)))
    assert ours == theirs
    assert ours[1] is True and ours[2]  # secret, and depends on the bucket
    if not preview:
        assert json.loads(ours[0])["Statement"][0]["Resource"][0] == "arn:aws:s3:::b"
    with_unknown = [{"Sid": "C", "Effect": "Allow", "Action": "s3:*", "Resource": unknown}]
    assert _resolve(policy_json(with_unknown))[3] is False
    assert _resolve(policy_json([]))[0] == json.dumps({"Statement": [], "Version": "2012-10-17"}, sort_keys=True)


def _future(value):
    from pulumi.runtime.sync_await import _ensure_event_loop

    fut = _ensure_event_loop().create_future()
    fut.set_result(value)
    return fut
