"""``ladder up --sandbox``, ``ladder down --sandbox`` and ``ladder sandbox serve``.

This module owns its Typer ``app`` (``up``, ``down`` and the ``sandbox`` group); modules/cli.py composes it (and
``register(app)`` adds the same commands to any Typer app). Exit codes as the rest of ``ladder``:
0 ok, 1 the apply/destroy failed, 2 bad input (spec errors, ``up`` without ``--sandbox``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import console as ui
from ..console import JsonOpt, StackFileOpt, StackOpt, console, err
SandboxOpt = typer.Option(False, "--sandbox", help="Apply to the local moto sandbox (the only target `ladder` "
                                                   "applies to; production is `pulumi up`).")
StateDirOpt = typer.Option(None, "--state-dir", help="Where sandbox state files live (default: .ladder/sandbox "
                                                     "under the repository root).", file_okay=False)
EndpointOpt = typer.Option(None, "--endpoint", help="moto endpoint (default: $AWS_ENDPOINT_URL, else an embedded "
                                                    "server for this command only).")


_fail = ui.fail


def _progress(verb: str, total: Optional[int] = None) -> Progress:
    return Progress(SpinnerColumn(), TextColumn(f"[bold]{verb}[/]"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True)


STYLES = {"created": "green", "updated": "yellow", "replaced": "magenta", "unchanged": "dim", "deleted": "red"}


def _summary(result, title: str, always: tuple[str, ...] = ("created", "unchanged")) -> None:
    from collections import Counter

    where = f"embedded moto server {result.endpoint} (stopped)" if result.embedded else f"moto at {result.endpoint}"
    actions = [a for a, n in result.counts.items() if n or a in always]
    per_type = Counter((c.type, c.action) for c in result.changes)
    table = Table(title=f"{title}: stack {result.stack} -> {where}", show_edge=False)
    table.add_column("resource type")
    for action in actions:
        table.add_column(f"[{STYLES[action]}]{action}[/]", justify="right")
    table.add_column("validated, not emulated", justify="right")
    validated = result.validated
    vcount = Counter(t for t, _, _ in validated)
    for type_ in sorted({c.type for c in result.changes}):
        table.add_row(type_.split(":", 1)[-1].split(":")[0],
                      *[str(per_type[(type_, a)] or "") for a in actions], str(vcount[type_] or ""))
    table.add_row("[bold]total[/]", *[f"[bold]{result.counts[a]}[/]" for a in actions], f"[bold]{len(validated)}[/]")
    console.print(table)
    if validated:
        vt = Table(title="validated by botocore, not emulated by moto (recorded, never skipped)", show_edge=False)
        vt.add_column("resource")
        vt.add_column("operation")
        for type_, name, op in validated:
            vt.add_row(f"{name} [dim]{type_.rsplit(':', 1)[-1]}[/]", op)
        console.print(vt)
    for message in result.messages:
        style = "yellow" if message.startswith(("warning", "no AWS_ENDPOINT_URL", "the state")) else "dim"
        console.print(f"[{style}]{message}[/]", highlight=False, soft_wrap=True)
    console.print(f"[dim]state: {result.state_file} ({result.seconds:.1f}s)[/]", highlight=False)


def _interrupted(verb: str, name: str, stack: Optional[str], stack_file: Optional[Path],
                 state_dir: Optional[Path], endpoint: Optional[str]) -> None:
    """Ctrl-C: say what the state records and how to resume; exit 130 (128 + SIGINT) as shells do."""
    from . import state

    path = state.state_path(name, state_dir)
    try:
        recorded = state.State.load(path)
    except Exception:  # noqa: BLE001 - the message below is all that matters now
        recorded = None
    count = len(recorded.resources) if recorded is not None else 0
    target = f"--stack-file {stack_file}" if stack_file else f"--stack {stack or name}"
    extra = f" --state-dir {state_dir}" if state_dir else ""
    done = (f"{count} resource(s) {'created so far are' if verb == 'up' else 'not yet deleted are'} recorded in "
            f"{path}" if count else f"nothing is recorded in {path}")
    embedded = endpoint is None and recorded is not None and recorded.embedded
    lost = " (they lived in an embedded server that stopped with this command)" if embedded and count else ""
    err.print(f"[bold yellow]interrupted:[/] `ladder {verb} --sandbox` stopped; {done}{lost}. Resume with "
              f"`ladder up --sandbox {target}{extra}` (it converges) or remove everything with "
              f"`ladder down --sandbox {target}{extra}`", highlight=False, soft_wrap=True)
    raise typer.Exit(130)


def up(stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt,
       sandbox: bool = SandboxOpt, json_out: bool = JsonOpt, state_dir: Optional[Path] = StateDirOpt,
       endpoint: Optional[str] = EndpointOpt) -> None:
    """Create or update the stack in the local moto sandbox (idempotent; `--sandbox` required)."""
    from ..plan import ProgramError
    from . import state
    from .aws import SandboxError

    if not sandbox:
        name = stack or (stack_file and stack_file.name) or "dev"
        _fail(f"`ladder up` only applies to the local sandbox: add --sandbox. For AWS use the production path: "
              f"`pulumi up --stack {name}`", 2)
    spec, config = ui.load_with_config(stack, stack_file)  # prints every spec problem and exits 2
    progress = _progress("applying")
    task = progress.add_task("", total=None)

    def on_event(action: str, key: str, type_: str, name: str) -> None:
        progress.update(task, advance=1, description=f"{action} {type_.rsplit(':', 1)[-1]} {name}")

    try:
        if json_out:
            result = state.apply(spec, config, endpoint=endpoint, state_dir=state_dir)
        else:
            with progress:
                result = state.apply(spec, config, endpoint=endpoint, state_dir=state_dir, on_event=on_event)
    except ProgramError as exc:
        _fail(f"the program failed under the sandbox: {exc}", 1)
    except SandboxError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _interrupted("up", spec.stack, stack, stack_file, state_dir, endpoint)
    if json_out:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
        return
    _summary(result, "sandbox up")


def down(stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt,
         sandbox: bool = SandboxOpt, json_out: bool = JsonOpt, state_dir: Optional[Path] = StateDirOpt,
         endpoint: Optional[str] = EndpointOpt) -> None:
    """Delete everything the sandbox state of the stack lists (dependents first) and the state file."""
    from ..spec import stack_name_of
    from . import state
    from .aws import SandboxError

    if not sandbox:
        _fail("`ladder down` only removes the local sandbox: add --sandbox. For AWS use `pulumi destroy`", 2)
    stack, stack_file = ui.resolve(stack, stack_file)  # empty or malformed --stack: exit 2
    name = stack or (stack_name_of(stack_file) if stack_file else "dev")
    progress = _progress("deleting")
    task = progress.add_task("", total=None)

    def on_event(action: str, key: str, type_: str, rname: str) -> None:
        progress.update(task, advance=1, description=f"{action} {type_.rsplit(':', 1)[-1]} {rname}")

    try:
        if json_out:
            result = state.destroy(name, endpoint=endpoint, state_dir=state_dir)
        else:
            with progress:
                result = state.destroy(name, endpoint=endpoint, state_dir=state_dir, on_event=on_event)
    except SandboxError as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _interrupted("down", name, stack, stack_file, state_dir, endpoint)
    if json_out:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        _summary(result, "sandbox down", always=("deleted",))
    if result.failed:
        raise typer.Exit(1)


def serve(port: int = typer.Option(5000, "--port", "-p", min=1, max=65535, help="Port on 127.0.0.1."),
          host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
          stop_after: Optional[float] = typer.Option(None, "--stop-after", hidden=True,
                                                     help="Stop after N seconds (tests).")) -> None:
    """Run a moto server until Ctrl-C; point `ladder up/down --sandbox` at it with AWS_ENDPOINT_URL."""
    from .server import serve as run

    def ready(url: str) -> None:
        console.print(f"moto sandbox server on [bold]{url}[/] - in another shell:\n"
                      f"  export AWS_ENDPOINT_URL={url}\n  ladder up --sandbox --stack dev\n"
                      f"Ctrl-C stops it (and everything in it).", highlight=False)

    busy = _port_problem(host, port)
    if busy:
        _fail(busy, 1)
    try:
        run(port=port, host=host, on_ready=ready, stop_after=stop_after)
    except (OSError, SystemExit) as exc:  # werkzeug exits on a port taken between the check and the bind
        _fail(f"cannot serve on {host}:{port}: {exc or 'the address is in use'}; choose another with --port", 1)
    console.print("moto sandbox server stopped")


def _port_problem(host: str, port: int) -> Optional[str]:
    """Why ``host:port`` cannot be served (checked before any server thread starts), or None."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, port))
    except OSError as exc:
        why = "the port is in use by another program" if exc.errno in (98, 48) else exc.strerror or str(exc)
        return (f"cannot serve on {host}:{port}: {why}; stop that program or choose another port with --port "
                f"(and export AWS_ENDPOINT_URL=http://{host}:<port>)")
    return None


def register(app: typer.Typer) -> None:
    """Add ``up``, ``down`` and the ``sandbox`` sub-app (``serve``, ``tick``, ``report``) to a Typer app."""
    from .control import report, tick

    app.command("up")(up)
    app.command("down")(down)
    sandbox_app = typer.Typer(name="sandbox", help="The local AWS sandbox (moto): serve it for `up`/`down`.",
                              no_args_is_help=True, add_completion=False)
    sandbox_app.command("serve")(serve)
    sandbox_app.command("tick")(tick)
    sandbox_app.command("report")(report)
    app.add_typer(sandbox_app, name="sandbox")


app = typer.Typer(add_completion=False)
register(app)
