"""EventBridge Scheduler: schedules fire when the sandbox clock advances.

moto stores schedules but never fires them. The sandbox keeps its own clock, which starts at the real time and
moves only when told (``Gateway.tick(seconds)``, ``POST /_ladder/tick`` on the emulator, ``ladder sandbox tick``),
so tests and the demo decide when a weekly retraining "happens". Every occurrence of an ENABLED schedule in the
advanced interval fires once, in time order, by the rules of schedule expressions
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

* ``rate(value unit)`` - every ``value`` minutes/hours/days, counted from the schedule's creation (or StartDate);
* ``cron(minutes hours day-of-month month day-of-week year)`` - UTC or ``ScheduleExpressionTimezone``;
  ``*``, ``?``, lists, ranges, ``/`` increments, month and day names; ``L``/``W``/``#`` are not evaluated here (a
  schedule using them is reported, not fired);
* ``at(yyyy-mm-ddThh:mm:ss)`` - once.

The flexible time window is not randomised: an occurrence fires at its scheduled time. A SageMaker pipeline
target starts the pipeline with its ``SageMakerPipelineParameters`` as the target's role (which must trust
scheduler.amazonaws.com and may start only that pipeline); other targets are recorded as not emulated.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from . import iam

MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}  # cron day-of-week: 1 = Sunday
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
MAX_TICK = 366 * 86400


class Unsupported(ValueError):
    """An expression the sandbox cannot evaluate (reported, never guessed)."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    if text in ("*", "?"):
        return set(range(low, high + 1))
    if any(c in text for c in "LW#"):
        raise Unsupported(f"cron field {text!r} (L, W and # are not evaluated by the sandbox)")
    table = names or {}

    def value(tok: str) -> int:
        return table[tok.upper()] if tok.upper() in table else int(tok)

    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = value(a), value(b)
        else:
            start = value(part)
            end = high if "/" in text else start
        values.update(range(start, end + 1, step))
    return values


def cron_matches(expr: str, moment: datetime) -> bool:
    fields = expr.split()
    if len(fields) != 6:
        raise Unsupported(f"cron({expr}) must have 6 fields")
    minute, hour, dom, month, dow, year = fields
    if moment.minute not in _field(minute, 0, 59) or moment.hour not in _field(hour, 0, 23):
        return False
    if moment.month not in _field(month, 1, 12, MONTHS) or moment.year not in _field(year, 1970, 2199):
        return False
    weekday = (moment.isoweekday() % 7) + 1  # Sunday = 1
    dom_ok = dom in ("*", "?") or moment.day in _field(dom, 1, 31)
    dow_ok = dow in ("*", "?") or weekday in _field(dow, 1, 7, DAYS)
    return dom_ok and dow_ok


def occurrences(expression: str, created: datetime, start: datetime, end: datetime) -> list[datetime]:
    """Occurrences of a schedule expression in (start, end]."""
    match = re.fullmatch(r"(rate|cron|at)\((.*)\)", expression.strip())
    if not match:
        raise Unsupported(f"schedule expression {expression!r}")
    kind, body = match.groups()
    if kind == "at":
        moment = datetime.fromisoformat(body).replace(tzinfo=timezone.utc)
        return [moment] if start < moment <= end else []
    if kind == "rate":
        value, unit = body.split()
        step = int(value) * UNITS[unit.lower()]
        first = created.timestamp() + step
        n = max(0, int((start.timestamp() - first) // step))
        out, t = [], first + n * step
        while t <= end.timestamp():
            if t > start.timestamp():
                out.append(datetime.fromtimestamp(t, timezone.utc))
            t += step
        return out
    out = []
    moment = (start + timedelta(minutes=1)).replace(second=0, microsecond=0)
    while moment <= end:
        if cron_matches(body, moment):
            out.append(moment)
        moment += timedelta(minutes=1)
    return out


class Scheduler:
    def __init__(self, start_pipeline: Callable[..., str]):
        self.start_pipeline = start_pipeline
        self.offset = 0.0  # seconds the sandbox clock is ahead of real time
        self.last = time.time()
        self.fired: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self.offset

    def tick(self, seconds: float) -> list[dict[str, Any]]:
        """Advance the clock and fire every due occurrence; return what fired."""
        if not 0 < seconds <= MAX_TICK:
            raise ValueError(f"tick seconds must be in (0, {MAX_TICK}]")
        from moto.scheduler.models import scheduler_backends

        with self._lock:
            start = datetime.fromtimestamp(max(self.last, time.time() + self.offset), timezone.utc)
            self.offset += seconds
            end = datetime.fromtimestamp(self.now(), timezone.utc)
            self.last = end.timestamp()
        due: list[tuple[datetime, Any]] = []
        for _account, regions in list(scheduler_backends.items()):
            for region, backend in list(regions.items()):
                for group in list(backend.schedule_groups.values()):
                    for schedule in list(group.schedules.values()):
                        if schedule.state != "ENABLED":
                            continue
                        created = datetime.fromtimestamp(float(schedule.creation_date), timezone.utc)
                        try:
                            times = occurrences(schedule.schedule_expression, created, start, end)
                        except Unsupported as exc:
                            self.fired.append({"schedule": schedule.name, "status": "not evaluated", "reason": str(exc)})
                            continue
                        due.extend((t, (schedule, region)) for t in times)
        made = []
        for moment, (schedule, region) in sorted(due, key=lambda d: d[0]):
            made.append(self._fire(schedule, region, moment))
        self.fired.extend(made)
        return made

    def _fire(self, schedule: Any, region: str, moment: datetime) -> dict[str, Any]:
        target = schedule.target or {}
        record: dict[str, Any] = {"schedule": schedule.name, "time": moment.isoformat(), "target": target.get("Arn"),
                                  "status": "fired"}
        arn = target.get("Arn", "")
        try:
            if ":sagemaker:" in arn and ":pipeline/" in arn:
                role = target.get("RoleArn", "")
                if not iam.trusts_service(role, "scheduler.amazonaws.com"):
                    raise PermissionError(f"EventBridge Scheduler cannot assume {role}")
                params = (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList", [])
                record["execution"] = self.start_pipeline(arn, params, role, "schedule", region)
            else:
                record["status"] = "not emulated"
        except Exception as exc:  # noqa: BLE001 - recorded as a failed invocation
            record["status"], record["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        return record


def next_after(expression: str, created: Optional[datetime] = None) -> Optional[datetime]:
    """The first occurrence after now (for messages); None when it cannot be evaluated."""
    now = datetime.now(timezone.utc)
    try:
        found = occurrences(expression, created or now, now, now + timedelta(days=366))
    except Unsupported:
        return None
    return found[0] if found else None
