"""Gateway hooks for the monitoring-schedule API moto lacks (see :mod:`.monitor` for what runs).

Every request is validated with botocore's input shape first (ValidationException naming the problem), then:
CreateMonitoringSchedule (inline ``MonitoringJobDefinition``, or ``MonitoringJobDefinitionName`` +
``MonitoringType`` naming a job definition that exists - ResourceNotFound otherwise; an existing name is
ResourceInUse), Describe/Delete/Stop/Start/UpdateMonitoringSchedule (ResourceNotFound for an unknown name),
ListMonitoringSchedules and ListMonitoringExecutions (their filters, sort, MaxResults/NextToken), and
AddTags/DeleteTags/ListTags on a monitoring-schedule ARN. Callers holding role credentials need the matching
``sagemaker:<Action>`` on the schedule's ARN.
"""

from __future__ import annotations

from typing import Any

from .monitor import CRON, EMULATED_KINDS, KINDS, ApiError, MonitorRuntime, Schedule

OPERATIONS = ("CreateMonitoringSchedule", "DescribeMonitoringSchedule", "DeleteMonitoringSchedule",
              "ListMonitoringSchedules", "StopMonitoringSchedule", "StartMonitoringSchedule",
              "UpdateMonitoringSchedule", "ListMonitoringExecutions")


def _runtime(gw) -> MonitorRuntime:
    return gw.monitor


def _arn(call, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{call.region}:{account}:monitoring-schedule/{name.lower()}"


def _validated(operation: str):
    """Wrap a hook: botocore validation, ApiError -> SageMaker's error reply, IAM for role callers."""

    def wrap(fn):
        def hook(gw, call):
            from ...aws import RequestInvalid, validate

            try:
                validate("sagemaker", operation, call.params)
            except RequestInvalid as exc:
                return gw.error(400, "ValidationException", str(exc).split("\n", 1)[-1].strip())
            name = str(call.params.get("MonitoringScheduleName", "*"))
            denied = gw.authorize(call, f"sagemaker:{operation}", _arn(call, gw.account_of(call), name))
            if denied:
                return denied
            try:
                return gw.json(200, fn(gw, call, _runtime(gw)))
            except ApiError as exc:
                return gw.error(exc.status, exc.code, str(exc))

        return hook

    return wrap


def _get(rt: MonitorRuntime, gw, call) -> Schedule:
    name = str(call.params.get("MonitoringScheduleName", ""))
    schedule = rt.schedules.get((gw.account_of(call), call.region, name))
    if schedule is None:
        raise ApiError("ResourceNotFound", f"Monitoring Schedule {_arn(call, gw.account_of(call), name)} "
                                           f"does not exist.")
    return schedule


def _check_config(gw, call, config: dict[str, Any]) -> None:
    expr = (config.get("ScheduleConfig") or {}).get("ScheduleExpression", "")
    if expr != "NOW" and not CRON.fullmatch(expr):
        raise ApiError("ValidationException", f"Invalid ScheduleExpression {expr!r}: Model Monitor supports "
                                              f"cron(0 * ? * * *), cron(0 [00-23] ? * * *), "
                                              f"cron(0 [00-23]/[01-24] ? * * *) and NOW (API_ScheduleConfig)")
    if expr == "NOW" and not all((config.get("ScheduleConfig") or {}).get(k)
                                 for k in ("DataAnalysisStartTime", "DataAnalysisEndTime")):
        raise ApiError("ValidationException", "ScheduleExpression NOW requires DataAnalysisStartTime and "
                                              "DataAnalysisEndTime")
    inline, named = config.get("MonitoringJobDefinition"), config.get("MonitoringJobDefinitionName")
    if bool(inline) == bool(named):
        raise ApiError("ValidationException", "MonitoringScheduleConfig needs exactly one of "
                                              "MonitoringJobDefinition and MonitoringJobDefinitionName")
    kind = config.get("MonitoringType")
    if named:
        if kind not in KINDS:
            raise ApiError("ValidationException", f"MonitoringType is required with MonitoringJobDefinitionName "
                                                  f"(one of {', '.join(KINDS)})")
        sm = gw.client("sagemaker", call.region)
        try:
            getattr(sm, f"describe_{KINDS[kind]}_job_definition")(JobDefinitionName=named)
        except Exception:  # noqa: BLE001 - moto's not-found
            raise ApiError("ResourceNotFound", f"Job definition {named} of type {kind} does not exist.") from None
    elif kind not in (None, "DataQuality"):
        raise ApiError("ValidationException", "an inline MonitoringJobDefinition is a DataQuality job")


def _endpoint_of(rt: MonitorRuntime, schedule: Schedule) -> str | None:
    cfg = schedule.config
    if cfg.get("MonitoringJobDefinition"):
        inputs = cfg["MonitoringJobDefinition"].get("MonitoringInputs") or [{}]
        return (inputs[0].get("EndpointInput") or {}).get("EndpointName")
    try:
        return (rt.definition(schedule)["input"] or {}).get("EndpointName")
    except Exception:  # noqa: BLE001 - the job definition is gone
        return None


@_validated("CreateMonitoringSchedule")
def create_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    name, account = call.params["MonitoringScheduleName"], gw.account_of(call)
    if (account, call.region, name) in rt.schedules:
        raise ApiError("ResourceInUse", f"Monitoring Schedule {_arn(call, account, name)} already exists.")
    config = call.params["MonitoringScheduleConfig"]
    _check_config(gw, call, config)
    now = gw.scheduler.now()
    schedule = Schedule(name, _arn(call, account, name), account, call.region, config, now, last_checked=now,
                        tags=list(call.params.get("Tags") or []))
    rt.schedules[(account, call.region, name)] = schedule
    if (config.get("ScheduleConfig") or {}).get("ScheduleExpression") == "NOW":
        from datetime import datetime, timezone

        rt.run(schedule, datetime.fromtimestamp(now, timezone.utc))  # "run the monitoring job one time, immediately"
    return {"MonitoringScheduleArn": schedule.arn}


@_validated("DescribeMonitoringSchedule")
def describe_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    schedule = _get(rt, gw, call)
    return schedule.describe(_endpoint_of(rt, schedule))


@_validated("DeleteMonitoringSchedule")
def delete_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    schedule = _get(rt, gw, call)
    rt.schedules.pop((schedule.account, schedule.region, schedule.name), None)
    return {}


@_validated("StopMonitoringSchedule")
def stop_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    schedule = _get(rt, gw, call)
    schedule.status, schedule.modified = "Stopped", gw.scheduler.now()
    return {}


@_validated("StartMonitoringSchedule")
def start_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    schedule = _get(rt, gw, call)
    schedule.status, schedule.modified = "Scheduled", gw.scheduler.now()
    schedule.last_checked = gw.scheduler.now()  # occurrences while stopped do not run
    return {}


@_validated("UpdateMonitoringSchedule")
def update_monitoring_schedule(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    schedule = _get(rt, gw, call)
    config = call.params["MonitoringScheduleConfig"]
    _check_config(gw, call, config)
    schedule.config, schedule.modified = config, gw.scheduler.now()
    return {"MonitoringScheduleArn": schedule.arn}


def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def _sorted(items: list[dict[str, Any]], params: dict[str, Any], fields: dict[str, str],
            default: str = "CreationTime") -> list[dict[str, Any]]:
    key = fields.get(params.get("SortBy", ""), default)
    return sorted(items, key=lambda i: (i.get(key) is None, i.get(key) or 0),
                  reverse=params.get("SortOrder", "Descending") == "Descending")


def _in_range(value: float, params: dict[str, Any], before: str, after: str) -> bool:
    def ts(v):
        return v.timestamp() if hasattr(v, "timestamp") else float(v)

    return (params.get(before) is None or value < ts(params[before])) and \
        (params.get(after) is None or value > ts(params[after]))


@_validated("ListMonitoringSchedules")
def list_monitoring_schedules(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    p = call.params
    items = []
    for s in list(rt.schedules.values()):
        if (s.account, s.region) != (gw.account_of(call), call.region):
            continue
        endpoint = _endpoint_of(rt, s)
        summary = {"MonitoringScheduleName": s.name, "MonitoringScheduleArn": s.arn, "CreationTime": s.created,
                   "LastModifiedTime": s.modified or s.created, "MonitoringScheduleStatus": s.status,
                   "MonitoringType": s.kind, **({"EndpointName": endpoint} if endpoint else {}),
                   **({"MonitoringJobDefinitionName": s.config["MonitoringJobDefinitionName"]}
                      if s.config.get("MonitoringJobDefinitionName") else {})}
        if p.get("EndpointName") and endpoint != p["EndpointName"]:
            continue
        if p.get("NameContains") and p["NameContains"] not in s.name:
            continue
        if p.get("StatusEquals") and s.status != p["StatusEquals"]:
            continue
        if p.get("MonitoringJobDefinitionName") and summary.get("MonitoringJobDefinitionName") != \
                p["MonitoringJobDefinitionName"]:
            continue
        if p.get("MonitoringTypeEquals") and s.kind != p["MonitoringTypeEquals"]:
            continue
        if not _in_range(s.created, p, "CreationTimeBefore", "CreationTimeAfter"):
            continue
        items.append(summary)
    items = _sorted(items, p, {"Name": "MonitoringScheduleName", "Status": "MonitoringScheduleStatus"})
    return _page(items, p, "MonitoringScheduleSummaries")


@_validated("ListMonitoringExecutions")
def list_monitoring_executions(gw, call, rt: MonitorRuntime) -> dict[str, Any]:
    p = call.params
    mine = {s.name for s in rt.schedules.values() if (s.account, s.region) == (gw.account_of(call), call.region)}
    items = []
    for e in list(rt.executions):
        if e["MonitoringScheduleName"] not in mine and not p.get("MonitoringScheduleName"):
            continue
        if p.get("MonitoringScheduleName") and e["MonitoringScheduleName"] != p["MonitoringScheduleName"]:
            continue
        if p.get("EndpointName") and e.get("EndpointName") != p["EndpointName"]:
            continue
        if p.get("StatusEquals") and e["MonitoringExecutionStatus"] != p["StatusEquals"]:
            continue
        if p.get("MonitoringJobDefinitionName") and e.get("MonitoringJobDefinitionName") != \
                p["MonitoringJobDefinitionName"]:
            continue
        if p.get("MonitoringTypeEquals") and e.get("MonitoringType") != p["MonitoringTypeEquals"]:
            continue
        if not _in_range(e["ScheduledTime"], p, "ScheduledTimeBefore", "ScheduledTimeAfter"):
            continue
        items.append(dict(e))
    items = _sorted(items, p, {"CreationTime": "CreationTime", "ScheduledTime": "ScheduledTime",
                               "Status": "MonitoringExecutionStatus"}, default="ScheduledTime")  # API default
    return _page(items, p, "MonitoringExecutionSummaries")


# ---- tags on schedule ARNs (moto's AddTags would not find the resource) -------------------------------
def _schedule_by_arn(gw, arn: str):
    for s in gw.monitor.schedules.values():
        if s.arn == arn:
            return s
    return None


def _tags(operation: str):
    def hook(gw, call):
        arn = str(call.params.get("ResourceArn", ""))
        if ":monitoring-schedule/" not in arn:
            return gw.forward(call)
        schedule = _schedule_by_arn(gw, arn)
        if schedule is None:
            return gw.error(400, "ResourceNotFound", f"Monitoring Schedule {arn} does not exist.")
        denied = gw.authorize(call, f"sagemaker:{operation}", arn)
        if denied:
            return denied
        if operation == "AddTags":
            new = {t["Key"]: t for t in call.params.get("Tags") or []}
            schedule.tags = [t for t in schedule.tags if t["Key"] not in new] + list(new.values())
            return gw.json(200, {"Tags": schedule.tags})
        if operation == "DeleteTags":
            keys = set(call.params.get("TagKeys") or [])
            schedule.tags = [t for t in schedule.tags if t["Key"] not in keys]
            return gw.json(200, {})
        return gw.json(200, {"Tags": schedule.tags})

    return hook


HOOKS = {
    ("sagemaker", "CreateMonitoringSchedule"): create_monitoring_schedule,
    ("sagemaker", "DescribeMonitoringSchedule"): describe_monitoring_schedule,
    ("sagemaker", "DeleteMonitoringSchedule"): delete_monitoring_schedule,
    ("sagemaker", "StopMonitoringSchedule"): stop_monitoring_schedule,
    ("sagemaker", "StartMonitoringSchedule"): start_monitoring_schedule,
    ("sagemaker", "UpdateMonitoringSchedule"): update_monitoring_schedule,
    ("sagemaker", "ListMonitoringSchedules"): list_monitoring_schedules,
    ("sagemaker", "ListMonitoringExecutions"): list_monitoring_executions,
    ("sagemaker", "AddTags"): _tags("AddTags"),
    ("sagemaker", "DeleteTags"): _tags("DeleteTags"),
    ("sagemaker", "ListTags"): _tags("ListTags"),
}
assert set(OPERATIONS) <= {op for _, op in HOOKS} and EMULATED_KINDS
