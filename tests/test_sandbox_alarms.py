"""CloudWatch alarm evaluation in the sandbox (services/cloudwatch.py), by the documented rules."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.helpers import Sandbox
from modules.sandbox.services.cloudwatch import decide


def alarm(state="OK", treat="missing", op="GreaterThanThreshold", threshold=1.0, n=3, m=2, stat="Maximum"):
    return SimpleNamespace(state_value=state, treat_missing_data=treat, comparison_operator=op, threshold=threshold,
                           evaluation_periods=n, datapoints_to_alarm=m, statistic=stat, extended_statistic=None)


# (case, alarm, samples per period oldest first, expected state)
CASES = [
    ("2 of 3 breach -> ALARM", alarm(), [[0.5], [2.0], [3.0]], "ALARM"),
    ("1 of 3 breach, 2 needed -> OK", alarm(), [[0.5], [0.2], [3.0]], "OK"),
    ("statistic over the period: Maximum", alarm(n=1, m=1), [[0.1, 5.0, 0.2]], "ALARM"),
    ("statistic over the period: Average", alarm(n=1, m=1, stat="Average"), [[0.1, 2.0, 0.2]], "OK"),
    ("statistic: Sum", alarm(n=1, m=1, stat="Sum", threshold=2.5), [[1.0, 1.0, 1.0]], "ALARM"),
    ("equal to the threshold is not greater", alarm(n=1, m=1), [[1.0]], "OK"),
    ("GreaterThanOrEqualTo", alarm(n=1, m=1, op="GreaterThanOrEqualToThreshold"), [[1.0]], "ALARM"),
    ("LessThan", alarm(n=1, m=1, op="LessThanThreshold"), [[0.5]], "ALARM"),
    ("all missing, missing -> INSUFFICIENT_DATA", alarm(), [[], [], []], "INSUFFICIENT_DATA"),
    ("all missing, notBreaching -> OK", alarm(state="ALARM", treat="notBreaching"), [[], [], []], "OK"),
    ("all missing, breaching -> ALARM", alarm(treat="breaching"), [[], [], []], "ALARM"),
    ("all missing, ignore -> state kept", alarm(state="ALARM", treat="ignore"), [[], [], []], "ALARM"),
    ("some missing, breaching fills them", alarm(treat="breaching"), [[], [3.0], [0.1]], "ALARM"),
    ("some missing, notBreaching", alarm(treat="notBreaching"), [[], [3.0], [0.1]], "OK"),
]


@pytest.mark.parametrize("case, spec, periods, expected", CASES, ids=[c[0] for c in CASES])
def test_alarm_evaluation_table(case, spec, periods, expected):
    assert decide(spec, periods)[0] == expected


@pytest.fixture(scope="module")
def cw_env(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    yield box.server, box.client("cloudwatch"), box.client("sns")
    box.stop()


def test_published_metric_drives_the_alarm_and_its_actions(cw_env):
    srv, cw, sns = cw_env
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    cw.put_metric_alarm(AlarmName="drift-1", Namespace="mlops/drift", MetricName="DriftScore", Statistic="Maximum",
                        Period=3600, EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=0.1,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        Dimensions=[{"Name": "Endpoint", "Value": "e"}], AlarmActions=[topic])
    state = lambda: cw.describe_alarms(AlarmNames=["drift-1"])["MetricAlarms"][0]["StateValue"]  # noqa: E731
    assert state() == "OK"  # created INSUFFICIENT_DATA, evaluated: no data is not breaching
    cw.put_metric_data(Namespace="mlops/drift", MetricData=[{"MetricName": "DriftScore", "Value": 0.05,
                                                             "Dimensions": [{"Name": "Endpoint", "Value": "e"}]}])
    assert state() == "OK"
    cw.put_metric_data(Namespace="mlops/drift", MetricData=[{"MetricName": "DriftScore", "Value": 0.3,
                                                             "Dimensions": [{"Name": "Endpoint", "Value": "other"}]}])
    assert state() == "OK"  # another dimension value is another metric
    cw.put_metric_data(Namespace="mlops/drift", MetricData=[{"MetricName": "DriftScore", "Value": 0.3,
                                                             "Dimensions": [{"Name": "Endpoint", "Value": "e"}]}])
    assert state() == "ALARM"
    assert srv.gateway.alarm_actions[-1] == {"alarm": "drift-1", "state": "ALARM", "action": topic}
    event = [d for d in srv.gateway.events.deliveries]  # no rule yet: nothing delivered, the event was emitted
    assert event == []
    srv.gateway.tick(2 * 3600)  # the breaching datapoint leaves the evaluation period: missing -> notBreaching
    assert state() == "OK"


def test_alarm_with_default_missing_data_goes_insufficient(cw_env):
    srv, cw, _ = cw_env
    cw.put_metric_alarm(AlarmName="latency", Namespace="AWS/SageMaker", MetricName="ModelLatency", Statistic="Average",
                        Period=60, EvaluationPeriods=1, Threshold=1e6, ComparisonOperator="GreaterThanThreshold",
                        Dimensions=[{"Name": "EndpointName", "Value": "x"}])
    assert cw.describe_alarms(AlarmNames=["latency"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    assert json.loads(json.dumps(srv.gateway.report()))  # the report stays JSON
