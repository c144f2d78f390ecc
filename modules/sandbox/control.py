"""``ladder sandbox tick`` and ``ladder sandbox report``: drive and inspect a running sandbox's emulation.

Both talk to the server ``AWS_ENDPOINT_URL`` points at (``ladder sandbox serve``), through its loopback-only
control API (``POST /_ladder/tick``, ``GET /_ladder/report``; see modules/sandbox/services/gateway.py).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Optional

import typer

from .aws import ENDPOINT_ENV

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``6h``, ``7d``, ``1w`` or plain seconds."""
    text = text.strip().lower()
    try:
        if text and text[-1] in UNITS:
            value = float(text[:-1]) * UNITS[text[-1]]
        else:
            value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 90s, 15m, 6h, 7d, 1w)") from None
    if not 0 < value <= 366 * 86400:
        raise typer.BadParameter("a duration between 1 second and 366 days")
    return value


def _endpoint(endpoint: Optional[str]) -> str:
    url = endpoint or os.environ.get(ENDPOINT_ENV)
    if not url:
        typer.echo("error: no running sandbox: start `ladder sandbox serve` and export AWS_ENDPOINT_URL "
                   "(an embedded sandbox lives only as long as one command)", err=True)
        raise typer.Exit(2)
    return url.rstrip("/")


def _call(url: str, path: str, body: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=600) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        typer.echo(f"error: the sandbox refused {path}: {exc.read().decode(errors='replace')[:300]}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: the sandbox at {url} does not answer ({exc}); is `ladder sandbox serve` running?",
                   err=True)
        raise typer.Exit(1) from None


def tick(duration: str = typer.Argument(..., help="How far to advance the sandbox clock: 90s, 15m, 6h, 7d, 1w."),
         endpoint: Optional[str] = typer.Option(None, "--endpoint", help="Sandbox URL (default $AWS_ENDPOINT_URL)."),
         json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Advance the sandbox clock: EventBridge Scheduler schedules that fall due fire (a training schedule starts its
    pipeline) and CloudWatch alarms are evaluated again (missing data ages out)."""
    seconds = parse_duration(duration)
    result = _call(_endpoint(endpoint), "/_ladder/tick", {"seconds": seconds})
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"clock +{seconds:g}s (now {result['clockOffsetSeconds']:g}s ahead of real time); "
               f"{len(result['fired'])} schedule occurrence(s)")
    for f in result["fired"]:
        typer.echo(f"  {f.get('time', '')[:19]} {f['schedule']}: {f['status']} {f.get('execution') or f.get('reason', '')}")


def report(endpoint: Optional[str] = typer.Option(None, "--endpoint", help="Sandbox URL (default $AWS_ENDPOINT_URL)."),
           json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """What the emulation did: pipeline executions (trigger, status, steps, package), event deliveries, schedule
    firings, endpoint invocations and alarm actions."""
    result = _call(_endpoint(endpoint), "/_ladder/report")
    if json_out:
        typer.echo(json.dumps(result, indent=2))
        return
    for e in result["executions"]:
        steps = ", ".join(f"{s['name']}={s['status']}{' (cache)' if s['cacheHit'] else ''}" for s in e["steps"])
        typer.echo(f"execution {e['arn'].rsplit('/', 1)[-1]} [{e['trigger']}] {e['status']}: {steps}")
    for d in result["deliveries"]:
        typer.echo(f"event {d['detailType']} -> rule {d['rule']} -> {d['target'].split(':')[-1]}: {d['status']}")
    typer.echo(f"{len(result['scheduled'])} schedule firing(s), {len(result['invocations'])} invocation(s), "
               f"{len(result['alarmActions'])} alarm action(s)")
