"""Endpoint updates as SageMaker runs them: blue/green with baking periods and alarm-driven auto-rollback.

moto has no ``UpdateEndpoint``. Here it behaves as the service documents:

* **Refusals.** The endpoint must exist and be ``InService`` and the new config must exist. A change of the
  instance type of a production variant that is registered as an Application Auto Scaling scalable target fails:
  "If the update would change the instance type for any model that is a target for auto scaling, the update
  fails" (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Changing only the model
  of such a variant is allowed (same page).
* **Blue/green** (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html): the new
  config's containers are started as a green fleet next to the serving (blue) one, the endpoint is ``Updating``,
  and traffic shifts by ``TrafficRoutingConfiguration``: ``ALL_AT_ONCE`` (all of it, one baking period),
  ``CANARY`` (``CanarySize`` first, one baking period, then the rest) or ``LINEAR`` (``LinearStepSize`` per step,
  a baking period each). "If any of the pre-specified alarms trip during any baking period, then all endpoint
  traffic rolls back to the blue fleet": the rollback alarms of ``AutoRollbackConfiguration`` are read at every
  advance of the sandbox clock, as is ``MaximumExecutionTimeoutInSeconds``. After the last baking period the blue
  fleet is terminated once ``TerminationWaitInSeconds`` have passed and the endpoint serves the new config.
  A green fleet that cannot start (ping health check) rolls back at once.
* **Variant properties** (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html):
  with ``RetainAllVariantProperties`` the same-named variants keep their current ``DesiredInstanceCount``,
  ``DesiredWeight`` and data capture config, except the ``ExcludeRetainedVariantProperties`` listed, which come
  from the new config; without it the new config's ``InitialInstanceCount`` replaces whatever count auto scaling
  had reached.
* ``UpdateEndpointWeightsAndCapacities`` (what auto scaling calls) completes at once (moto leaves it Updating).

Time is the sandbox clock (``ladder sandbox tick``; the sandbox engine advances it while it waits for
``InService``, as a provider polls). After a rollback the endpoint is ``InService`` on its old config - which is
all ``DescribeEndpoint`` is documented to show, so nothing else (no FailureReason) is invented here. A deploy
therefore has to compare ``EndpointConfigName`` with what it asked for (``ladder deploy`` does).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
GUIDE = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html"
_LOCK = threading.RLock()  # the clock (tick) and alarm transitions (invocations) both move updates on


@dataclass
class Rollout:
    endpoint: str
    account: str
    region: str
    old_config: str
    new_config: str
    green: dict[str, Any]                      # variant name -> endpoints.Variant of the green fleet
    stages: list[tuple[float, float]]          # (share of traffic on green, baking seconds)
    termination_wait: float
    timeout: float
    alarms: list[str]
    retain: bool
    exclude: set[str]
    started: float
    stage: int = 0
    stage_started: float = 0.0
    phase: str = "baking"                      # baking -> terminating -> done | rolled-back
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def green_share(self) -> float:
        if self.phase == "terminating":
            return 1.0
        return self.stages[min(self.stage, len(self.stages) - 1)][0]

    def note(self, now: float, what: str, **extra: Any) -> None:
        self.history.append({"at": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "event": what, **extra})


def _backend(account: str, region: str):
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][region]


def _scalable_variants(account: str, region: str, endpoint: str) -> set[str]:
    """Variant names of ``endpoint`` registered as Application Auto Scaling scalable targets."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    targets = applicationautoscaling_backends[account][region].targets.get(SCALABLE_DIMENSION, {})
    prefix = f"endpoint/{endpoint}/variant/"
    return {rid[len(prefix):] for rid in targets if rid.startswith(prefix)}


def _variants(config: Optional[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["VariantName"]: v for v in (config or {}).get("ProductionVariants", [])}


def scaling_conflict(account: str, region: str, endpoint: str, old: Optional[dict[str, Any]],
                     new: dict[str, Any]) -> Optional[str]:
    """Why UpdateEndpoint fails for an instance-type change of an auto-scaled variant (None: it does not)."""
    scaled = _scalable_variants(account, region, endpoint)
    before, after = _variants(old), _variants(new)
    for name in sorted(scaled):
        if name in before and name not in after:
            return (f"The variant {name} of endpoint {endpoint} is registered as an Application Auto Scaling scalable "
                    f"target and would be removed; deregister it first ({GUIDE})")
        if name in before and before[name].get("InstanceType") != after[name].get("InstanceType"):
            return (f"Cannot update endpoint {endpoint}: the update changes the instance type of production variant "
                    f"{name} ({before[name].get('InstanceType')} -> {after[name].get('InstanceType')}), which is "
                    f"registered as an Application Auto Scaling scalable target (endpoint/{endpoint}/variant/{name}); "
                    f"delete its scaling policies and call DeregisterScalableTarget first ({GUIDE})")
    return None


def _size(size: Optional[dict[str, Any]], instances: int) -> float:
    if not size:
        return 1.0
    value = float(size.get("Value", 0))
    share = value / 100.0 if size.get("Type") == "CAPACITY_PERCENT" else value / max(instances, 1)
    return max(min(share, 1.0), 0.0)


def stages_of(policy: dict[str, Any], instances: int) -> tuple[list[tuple[float, float]], float, float]:
    """(stages, termination wait, maximum execution timeout) of a BlueGreenUpdatePolicy."""
    bg = policy.get("BlueGreenUpdatePolicy") or {}
    routing = bg.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    kind = routing.get("Type", "ALL_AT_ONCE")
    if kind == "CANARY":
        stages = [(_size(routing.get("CanarySize"), instances), wait), (1.0, 0.0)]
    elif kind == "LINEAR":
        step = _size(routing.get("LinearStepSize"), instances) or 1.0
        shares, share = [], 0.0
        while share < 1.0 - 1e-9:
            share = min(share + step, 1.0)
            shares.append(share)
        stages = [(s, wait) for s in shares]
    else:
        stages = [(1.0, wait)]
    return stages, float(bg.get("TerminationWaitInSeconds", 0)), float(bg.get("MaximumExecutionTimeoutInSeconds", 3600))


# ---- hooks -------------------------------------------------------------------------------------------------------
def update_endpoint(gw, call):
    from .endpoints import EndpointFailed

    params = call.params
    name, config_name = str(params.get("EndpointName", "")), str(params.get("EndpointConfigName", ""))
    account, region = gw.account_of(call), call.region
    backend = _backend(account, region)
    record = backend.endpoints.get(name)
    arn = f"arn:aws:sagemaker:{region}:{account}:endpoint/{name.lower()}"
    if record is None:
        return gw.error(400, "ValidationException", f'Could not find endpoint "{arn}".')
    if record.endpoint_status != "InService":
        return gw.error(400, "ValidationException",
                        f'Cannot update in-progress endpoint "{arn}" (status {record.endpoint_status}).')
    new = gw.endpoints.configs.get(config_name)
    if config_name not in backend.endpoint_configs or new is None:
        return gw.error(400, "ValidationException", f'Could not find endpoint configuration "{config_name}".')
    live = gw.endpoints.live.get(name)
    old = gw.endpoints.configs.get(record.endpoint_config_name)
    problem = scaling_conflict(account, region, name, old, new)
    if problem:
        return gw.error(400, "ValidationException", problem)
    policy = params.get("DeploymentConfig")
    if policy is None and params.get("RetainDeploymentConfig"):
        policy = gw.endpoints.deployment_configs.get(name)
    policy = policy or {}
    gw.endpoints.deployment_configs[name] = policy
    retain = bool(params.get("RetainAllVariantProperties"))
    exclude = {p.get("VariantPropertyType") for p in params.get("ExcludeRetainedVariantProperties") or []}
    current = {v["VariantName"]: v for v in record.production_variants}
    instances = sum(int((current.get(n, {}).get("DesiredInstanceCount") if retain else None)
                        or v.get("InitialInstanceCount") or 1) for n, v in _variants(new).items())
    stages, termination, timeout = stages_of(policy, instances)
    now = gw.scheduler.now()
    rollout = Rollout(endpoint=name, account=account, region=region, old_config=record.endpoint_config_name,
                      new_config=config_name, green={}, stages=stages, termination_wait=termination, timeout=timeout,
                      alarms=[a["AlarmName"] for a in (policy.get("AutoRollbackConfiguration") or {}).get("Alarms", [])],
                      retain=retain, exclude=exclude, started=now, stage_started=now)
    record.endpoint_status = "Updating"
    record.last_modified_time = datetime.now(timezone.utc).replace(tzinfo=None)
    rollout.note(now, "update started", config=config_name, greenShare=rollout.green_share,
                 rollbackAlarms=rollout.alarms)
    try:
        rollout.green = gw.endpoints.start_fleet(name, config_name, region)
    except (EndpointFailed, Exception) as exc:  # noqa: BLE001 - a green fleet that cannot start rolls back
        rollout.note(now, "green fleet failed to start", reason=str(exc)[:500])
        finish(gw, rollout, now, rolled_back=True)
        return gw.json(200, {"EndpointArn": record.arn})
    if live is None:  # nothing serving (a Failed endpoint's update): nothing to roll back to, nothing to bake
        rollout.stages = [(1.0, 0.0)]
    gw.endpoints.rollouts[name] = rollout
    advance(gw, now)
    return gw.json(200, {"EndpointArn": record.arn})


def update_weights_and_capacities(gw, call):
    reply = gw.forward(call)
    if reply.status == 200:
        record = _backend(gw.account_of(call), call.region).endpoints.get(str(call.params.get("EndpointName")))
        if record is not None:
            for variant in record.production_variants:
                variant["CurrentInstanceCount"] = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount"))
            record.endpoint_status = "InService"
    return reply


# ---- the clock -----------------------------------------------------------------------------------------------
def _alarm_state(account: str, region: str, name: str) -> Optional[str]:
    from moto.cloudwatch.models import cloudwatch_backends

    alarm = cloudwatch_backends[account][region].alarms.get(name)
    return alarm.state_value if alarm is not None else None


def on_alarm(gw, alarm: str, now: float) -> None:
    """An alarm entered ALARM: every update baking with it as a rollback alarm rolls back."""
    with _LOCK:
        for rollout in list(gw.endpoints.rollouts.values()):
            if rollout.phase == "baking" and alarm in rollout.alarms:
                rollout.note(now, "rollback", reason=f"alarm {alarm} entered ALARM during baking", alarms=[alarm],
                             greenShare=rollout.green_share)
                finish(gw, rollout, now, rolled_back=True)


def advance(gw, now: float) -> None:
    """Move every endpoint update on to sandbox time ``now`` (alarms were evaluated just before)."""
    with _LOCK:
        _advance(gw, now)


def _advance(gw, now: float) -> None:
    for rollout in list(gw.endpoints.rollouts.values()):
        if rollout.phase == "baking":
            tripped = [a for a in rollout.alarms if _alarm_state(rollout.account, rollout.region, a) == "ALARM"]
            if tripped:
                rollout.note(now, "rollback", reason=f"alarm(s) in ALARM during baking: {', '.join(tripped)}",
                             alarms=tripped, greenShare=rollout.green_share)
                finish(gw, rollout, now, rolled_back=True)
                continue
            if now - rollout.started > rollout.timeout:
                rollout.note(now, "rollback", reason="MaximumExecutionTimeoutInSeconds exceeded")
                finish(gw, rollout, now, rolled_back=True)
                continue
            while rollout.phase == "baking" and now - rollout.stage_started >= rollout.stages[rollout.stage][1]:
                rollout.stage_started += rollout.stages[rollout.stage][1]
                rollout.stage += 1
                if rollout.stage >= len(rollout.stages):
                    rollout.phase = "terminating"
                    rollout.note(now, "baking passed; all traffic on the green fleet")
                else:
                    rollout.note(now, "traffic shifted", greenShare=rollout.green_share)
        if rollout.phase == "terminating" and now - rollout.stage_started >= rollout.termination_wait:
            finish(gw, rollout, now, rolled_back=False)


def finish(gw, rollout: Rollout, now: float, *, rolled_back: bool) -> None:
    runtime = gw.endpoints
    with _LOCK:
        if runtime.rollouts.get(rollout.endpoint) is rollout:
            runtime.rollouts.pop(rollout.endpoint)
        elif rollout.phase in ("done", "rolled-back"):
            return  # finished already (by the clock or by an alarm)
        _finish(gw, rollout, now, rolled_back)


def _finish(gw, rollout: Rollout, now: float, rolled_back: bool) -> None:
    runtime = gw.endpoints
    record = _backend(rollout.account, rollout.region).endpoints.get(rollout.endpoint)
    if rolled_back:
        for variant in rollout.green.values():
            variant.stop()
        rollout.phase = "rolled-back"
    else:
        new = runtime.configs.get(rollout.new_config) or {}
        current = {v["VariantName"]: v for v in (record.production_variants if record is not None else [])}
        variants = []
        for name, pv in _variants(new).items():
            count = int(pv.get("InitialInstanceCount") or 1)
            weight = float(pv.get("InitialVariantWeight", 1.0))
            if rollout.retain and name in current:
                if "DesiredInstanceCount" not in rollout.exclude:
                    count = int(current[name].get("DesiredInstanceCount") or count)
                if "DesiredWeight" not in rollout.exclude:
                    weight = float(current[name].get("DesiredWeight") or weight)
            variants.append({"VariantName": name, "CurrentInstanceCount": count, "DesiredInstanceCount": count,
                             "CurrentWeight": weight, "DesiredWeight": weight})
        capture = new.get("DataCaptureConfig") or {}
        live = runtime.live.get(rollout.endpoint)
        if rollout.retain and "DataCaptureConfig" not in rollout.exclude and live is not None:
            capture = live.capture
        runtime.swap(rollout.endpoint, rollout.new_config, rollout.green, capture, rollout.region)
        if record is not None:
            record.endpoint_config_name = rollout.new_config
            record.production_variants = variants
            record.data_capture_config = capture
        rollout.phase = "done"
        rollout.note(now, "update completed; blue fleet terminated", config=rollout.new_config)
    if record is not None:
        record.endpoint_status = "InService"
        record.last_modified_time = datetime.now(timezone.utc).replace(tzinfo=None)
        record.last_deployment_config = runtime.deployment_configs.get(rollout.endpoint) or None
    runtime.history.append({"endpoint": rollout.endpoint, "from": rollout.old_config, "to": rollout.new_config,
                            "outcome": "rolled back" if rolled_back else "completed",
                            "serving": rollout.old_config if rolled_back else rollout.new_config,
                            "events": rollout.history})


HOOKS = {
    ("sagemaker", "UpdateEndpoint"): update_endpoint,
    ("sagemaker", "UpdateEndpointWeightsAndCapacities"): update_weights_and_capacities,
}
