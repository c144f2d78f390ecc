"""CloudWatch alarms: evaluated from metric data; a state change runs the actions and emits the event.

moto stores alarms and metric data and lets ``SetAlarmState`` change a state; it never evaluates an alarm, runs
its actions or emits the event EventBridge rules match on. Here:

* metric alarms are evaluated from the metric data moto holds whenever data for their metric is put, when they
  are created, and when the sandbox clock advances (:func:`evaluate`), by the documented rules
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html): the statistic over
  each of the last ``EvaluationPeriods`` periods of ``Period`` seconds ending now; ALARM when at least
  ``DatapointsToAlarm`` of them breach the threshold (``ComparisonOperator``), OK otherwise; missing periods per
  ``TreatMissingData`` - ``notBreaching`` counts them as good, ``breaching`` as bad, ``ignore`` keeps the current
  state when every period is missing, ``missing`` (the default) goes to INSUFFICIENT_DATA when every period is
  missing; a new alarm starts in INSUFFICIENT_DATA (moto starts it in OK). Metric-math alarms
  (``Metrics``) and anomaly-detection thresholds are not evaluated (they keep their state; said in the report);
* :func:`transition` changes the state as CloudWatch does
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
    if new_state == "ALARM":  # SageMaker watches its rollback alarms during baking (deployments.py)
        from .sagemaker import deployments

        deployments.on_alarm(gw, alarm.name, gw.scheduler.now())
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


def _stat(values: list[float], statistic: str) -> float:
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Sum":
        return float(sum(values))
    if statistic == "Average":
        return sum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    if statistic.startswith("p"):  # extended statistic pNN
        ordered = sorted(values)
        rank = max(0, min(len(ordered) - 1, int(round(float(statistic[1:]) / 100 * len(ordered) + 0.5)) - 1))
        return ordered[rank]
    raise ValueError(f"statistic {statistic!r}")


COMPARE = {"GreaterThanThreshold": lambda v, t: v > t, "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
           "LessThanThreshold": lambda v, t: v < t, "LessThanOrEqualToThreshold": lambda v, t: v <= t}


def _timestamp(datum: Any) -> float:
    ts = datum.timestamp
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.timestamp()


def _samples(backend: Any, alarm: Any, start: float, end: float) -> list[float]:
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    want = {(d.name, d.value) for d in alarm.dimensions}
    values: list[float] = []
    for datum in list(backend.metric_data):
        if datum.namespace != alarm.namespace or datum.name != alarm.metric_name:
            continue
        if {(d.name, d.value) for d in datum.dimensions} != want:
            continue
        if not start <= _timestamp(datum) < end:
            continue
        if isinstance(datum, MetricDatum):
            values.append(float(datum.value))
        elif isinstance(datum, MetricAggregatedDatum):  # statistic sets: approximate by their extremes and mean
            values.extend([datum.min, datum.max] + [datum.sum / max(datum.sample_count, 1)] *
                          max(int(datum.sample_count) - 2, 0))
    return values


def decide(alarm: Any, periods: list[list[float]]) -> tuple[str, str]:
    """(state, reason) for an alarm given the samples of its evaluation periods, oldest first."""
    compare = COMPARE.get(alarm.comparison_operator)
    if compare is None:
        return alarm.state_value, f"comparison {alarm.comparison_operator} is not evaluated by the sandbox"
    statistic = alarm.statistic or alarm.extended_statistic
    points = [_stat(p, statistic) if p else None for p in periods]
    treat = alarm.treat_missing_data or "missing"
    present = [v for v in points if v is not None]
    to_alarm = int(alarm.datapoints_to_alarm or len(periods))
    breaching = sum(1 for v in present if compare(v, float(alarm.threshold)))
    if treat == "breaching":
        breaching += len(points) - len(present)
    if not present and treat in ("missing", "ignore"):
        if treat == "ignore":
            return alarm.state_value, "no datapoints; missing data is ignored"
        return "INSUFFICIENT_DATA", f"Insufficient Data: {len(points)} datapoints were unknown."
    shown = ", ".join(f"{v:.6g}" for v in present[-5:])
    if breaching >= to_alarm:
        return "ALARM", (f"Threshold Crossed: {breaching} out of the last {len(points)} datapoints [{shown}] were "
                         f"{alarm.comparison_operator.replace('Threshold', ' the threshold')} ({alarm.threshold})")
    return "OK", (f"Threshold Crossed: {len(points) - breaching} out of the last {len(points)} datapoints [{shown}] "
                  f"were not {alarm.comparison_operator.replace('Threshold', ' the threshold')} ({alarm.threshold})")


def evaluate(gw, account: str, region: str, metric: tuple[str, str] | None = None) -> list[str]:
    """Evaluate the region's metric alarms (only those on ``metric`` when given); return the names that changed."""
    backend_ = backend(account, region)
    now = gw.scheduler.now()
    changed = []
    for alarm in list(backend_.alarms.values()):
        if not alarm.metric_name or alarm.metric_data_queries:
            continue  # metric math / anomaly detection: not evaluated
        if metric is not None and (alarm.namespace, alarm.metric_name) != metric:
            continue
        period, count = int(alarm.period), int(alarm.evaluation_periods)
        periods = [_samples(backend_, alarm, now - (count - i) * period, now - (count - i - 1) * period)
                   for i in range(count)]
        state, reason = decide(alarm, periods)
        if transition(gw, alarm, state, reason):
            changed.append(alarm.name)
    return changed


def put_metric_data(gw, call):
    reply = gw.forward(call)
    if reply.status == 200:
        namespace = call.params.get("Namespace")
        for name in {m.get("MetricName") for m in call.params.get("MetricData", [])}:
            evaluate(gw, gw.account_of(call), call.region, (namespace, name))
    return reply


def put_metric_alarm(gw, call):
    alarms = backend(gw.account_of(call), call.region).alarms
    existed = call.params.get("AlarmName") in alarms
    reply = gw.forward(call)
    alarm = alarms.get(call.params.get("AlarmName"))
    if reply.status == 200 and alarm is not None:
        if not existed:  # CloudWatch starts a new alarm in INSUFFICIENT_DATA, then evaluates it
            alarm.update_state("Unchecked: Initial alarm creation", "{}", "INSUFFICIENT_DATA")
        evaluate(gw, gw.account_of(call), call.region, (alarm.namespace, alarm.metric_name))
    return reply


def publish(gw, account: str, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
    """Metrics a service publishes itself (e.g. AWS/SageMaker endpoint metrics), then alarm evaluation.

    Data without a ``Timestamp`` is stamped with the sandbox clock (the service's "now"), so alarms evaluated at
    sandbox time see it in the right period after ``ladder sandbox tick``.
    """
    stamp = datetime.fromtimestamp(gw.scheduler.now(), timezone.utc).replace(tzinfo=None)  # moto keeps naive UTC
    data = [d if d.get("Timestamp") else {**d, "Timestamp": stamp} for d in data]
    backend(account, region).put_metric_data(namespace, data)
    for name in {d["MetricName"] for d in data}:
        evaluate(gw, account, region, (namespace, name))


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


HOOKS = {("cloudwatch", "SetAlarmState"): set_alarm_state, ("cloudwatch", "PutMetricData"): put_metric_data,
         ("cloudwatch", "PutMetricAlarm"): put_metric_alarm}
