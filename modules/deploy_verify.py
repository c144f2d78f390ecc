"""A deploy verifies itself: before ``pulumi up`` (an update AWS would refuse) and after it (what really serves).

Why after: ``pulumi up`` waits only for the endpoint to be ``InService``. When a rollback alarm trips during the
blue/green baking period SageMaker rolls all traffic back to the old fleet, and the endpoint is InService again -
on the *old* endpoint config (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html).
The update looks successful. So ``ladder deploy`` (and the platform's deploy workflow through it) compares what
the endpoint serves - ``DescribeEndpoint.EndpointConfigName``, that config's model, that model's package - with what
it deployed, and fails on a mismatch naming the alarm-driven rollback and what still serves. The previous model
and config stay declared (``serving.previousModelPackageArn``, components/endpoint.py), so they exist.

Why before: an instance-type change of a variant registered for auto scaling fails on AWS
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html); the preflight refuses it with the
two-step procedure instead of a failed ``pulumi up`` half way.

The clients are boto3 clients (AWS, or the sandbox through ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


@dataclass
class Verdict:
    ok: bool
    endpoint: str
    status: str = ""
    serving_config: str = ""
    serving_package: str = ""
    expected_config: str = ""
    expected_package: str = ""
    alarms_in_alarm: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "endpoint": self.endpoint, "status": self.status, "servingConfig": self.serving_config,
                "servingPackage": self.serving_package, "expectedConfig": self.expected_config,
                "expectedPackage": self.expected_package, "alarmsInAlarm": self.alarms_in_alarm,
                "message": self.message}


def _missing(exc: Exception) -> bool:
    text = str(exc)
    return any(s in text for s in ("Could not find", "not found", "does not exist"))


def served(sm, endpoint: str) -> tuple[str, str, str, dict[str, Any]]:
    """(status, endpoint config, model package of its first variant's model, description) of ``endpoint``."""
    desc = sm.describe_endpoint(EndpointName=endpoint)
    config = desc.get("EndpointConfigName", "")
    package = ""
    try:
        variants = sm.describe_endpoint_config(EndpointConfigName=config).get("ProductionVariants") or []
        if variants:
            model = sm.describe_model(ModelName=variants[0]["ModelName"])
            package = (model.get("PrimaryContainer") or {}).get("ModelPackageName", "")
    except Exception as exc:  # noqa: BLE001 - a deleted config/model: say so, it is exactly the failure to report
        package = f"(unreadable: {exc})"
    return desc.get("EndpointStatus", ""), config, package, desc


def verify(sm, endpoint: str, expected_config: str, expected_package: str, rollback_alarms: tuple[str, ...] = (),
           cloudwatch=None) -> Verdict:
    """Does ``endpoint`` serve ``expected_config`` (of ``expected_package``), InService?"""
    status, config, package, _ = served(sm, endpoint)
    verdict = Verdict(ok=False, endpoint=endpoint, status=status, serving_config=config, serving_package=package,
                      expected_config=expected_config, expected_package=expected_package)
    if cloudwatch is not None and rollback_alarms:
        alarms = cloudwatch.describe_alarms(AlarmNames=list(rollback_alarms)).get("MetricAlarms", [])
        verdict.alarms_in_alarm = sorted(a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM")
    if status != "InService":
        verdict.message = f"endpoint {endpoint} is {status}, not InService"
    elif config != expected_config or package != expected_package:
        why = (f" (rollback alarm(s) in ALARM: {', '.join(verdict.alarms_in_alarm)})" if verdict.alarms_in_alarm
               else "")
        verdict.message = (f"endpoint {endpoint} was rolled back: it serves endpoint config {config} (model package "
                           f"{package or '?'}), not the deployed {expected_config} ({expected_package}){why}. "
                           f"SageMaker rolls a blue/green update back when a rollback alarm trips during baking; "
                           f"the previous model and config are still declared and serving")
    else:
        verdict.ok = True
        verdict.message = f"endpoint {endpoint} serves {config} ({package}), InService"
    return verdict


def preflight(sm, autoscaling, endpoint: str, instance_type: str) -> Optional[tuple[str, str]]:
    """(current, new) instance type when the update would change the type of an auto-scaled variant, else None."""
    try:
        desc = sm.describe_endpoint(EndpointName=endpoint)
    except Exception as exc:  # noqa: BLE001
        if _missing(exc):
            return None  # first deploy: nothing to update
        raise
    variants = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"]).get("ProductionVariants", [])
    if not variants:
        return None
    targets = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ScalableDimension=SCALABLE_DIMENSION,
        ResourceIds=[f"endpoint/{endpoint}/variant/{v['VariantName']}" for v in variants],
    ).get("ScalableTargets", [])
    scaled = {t["ResourceId"].rsplit("/", 1)[-1] for t in targets}
    for v in variants:
        if v["VariantName"] in scaled and v.get("InstanceType") and v["InstanceType"] != instance_type:
            return v["InstanceType"], instance_type
    return None
