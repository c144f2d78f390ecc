"""CloudWatch alarms: a state change runs the alarm's actions and emits "CloudWatch Alarm State Change".

moto stores alarms and lets ``SetAlarmState`` change their state; it neither runs actions nor emits the event
EventBridge rules match on. :func:`transition` does both, as CloudWatch does
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html): the event's
detail has ``alarmName``, ``state`` and ``previousState`` (``value``, ``reason``, ``timestamp``) and the alarm's
``configuration``; SNS actions in ``AlarmActions``/``OKActions``/``InsufficientDataActions`` are published to when
``ActionsEnabled``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .events import envelope


def backend(account: str, region: str):
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]


def decode_cbor(body: bytes) -> dict[str, Any]:
    """The request body of the smithy-rpc-v2-cbor protocol botocore uses for CloudWatch."""
    if not body:
        return {}
    from botocore.parsers import RpcV2CBORParser

    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def transition(gw, alarm: Any, new_state: str, reason: str, reason_data: str = "{}") -> bool:
    """Change an alarm's state as CloudWatch would; return whether it changed."""
    previous = {"value": alarm.state_value, "reason": alarm.state_reason,
                "timestamp": alarm.state_updated_timestamp.isoformat() if alarm.state_updated_timestamp else None}
    if previous["value"] == new_state:
        return False
    alarm.update_state(reason, reason_data, new_state)
    emit_change(gw, alarm, previous)
    return True


def emit_change(gw, alarm: Any, previous: dict[str, Any]) -> None:
    account, region = alarm.alarm_arn.split(":")[4], alarm.alarm_arn.split(":")[3]
    now = datetime.now(timezone.utc).isoformat()
    detail = {
        "alarmName": alarm.name,
        "state": {"value": alarm.state_value, "reason": alarm.state_reason, "timestamp": now},
        "previousState": previous,
        "configuration": {"description": alarm.description, "metrics": _metrics(alarm)},
    }
    gw.events.emit(envelope("aws.cloudwatch", "CloudWatch Alarm State Change", detail, account=account,
                            region=region, resources=[alarm.alarm_arn]))
    actions = {"ALARM": alarm.alarm_actions, "OK": alarm.ok_actions,
               "INSUFFICIENT_DATA": alarm.insufficient_data_actions}.get(alarm.state_value) or []
    if alarm.actions_enabled:
        for action in actions:
            if ":sns:" in action:
                message = {"AlarmName": alarm.name, "NewStateValue": alarm.state_value,
                           "NewStateReason": alarm.state_reason, "OldStateValue": previous["value"],
                           "AlarmArn": alarm.alarm_arn, "StateChangeTime": now}
                gw.client("sns", region).publish(TopicArn=action, Message=json.dumps(message),
                                                 Subject=f'ALARM: "{alarm.name}"'[:99])
                gw.alarm_actions.append({"alarm": alarm.name, "state": alarm.state_value, "action": action})


def _metrics(alarm: Any) -> list[dict[str, Any]]:
    if alarm.metric_name:
        return [{"id": "m1", "metricStat": {"metric": {"namespace": alarm.namespace, "name": alarm.metric_name,
                                                       "dimensions": {d.name: d.value for d in alarm.dimensions}},
                                            "period": alarm.period, "stat": alarm.statistic}, "returnData": True}]
    return []


def set_alarm_state(gw, call):
    params = call.params
    alarms = backend(gw.account_of(call), call.region).alarms
    alarm = alarms.get(params.get("AlarmName"))
    previous = None
    if alarm is not None:
        previous = {"value": alarm.state_value, "reason": alarm.state_reason,
                    "timestamp": alarm.state_updated_timestamp.isoformat() if alarm.state_updated_timestamp else None}
    reply = gw.forward(call)
    if reply.status == 200 and alarm is not None and previous["value"] != alarm.state_value:
        emit_change(gw, alarm, previous)
    return reply


HOOKS = {("cloudwatch", "SetAlarmState"): set_alarm_state}
