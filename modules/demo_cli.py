"""``ladder demo``: the demo's Typer command (progress on the console, the summary table); the loop itself is
modules/demo.py. modules/cli.py composes this module's ``app``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import console as ui
from .console import JsonOpt, StackFileOpt, console, err

app = typer.Typer(add_completion=False)


@app.command("demo")
def demo(stack: str = typer.Option("prod", "--stack", "-s", help="Stack to run (level 3+; default: prod, level 4)."),
         stack_file: Optional[Path] = StackFileOpt,
         project: Optional[str] = typer.Option(None, "--project", "-p", help="Project (default: the first)."),
         keep: Optional[Path] = typer.Option(None, "--keep", help="Keep the work directory (stack copy, sandbox "
                                                                   "state, scaffolded project) in this new dir."),
         scenario: str = typer.Option("default", "--scenario",
                                      help="default: the whole loop. bad-canary: the rollback drill - a regressed "
                                           "serving change trips the 5XX rollback alarm while the endpoint update "
                                           "bakes; SageMaker (emulated) rolls back and the deploy reports failure."),
         json_out: bool = JsonOpt) -> None:
    """The whole MLOps lifecycle offline on an embedded moto server: provision, scaffold, train, register,
    approve, deploy, smoke-test, detect drift, retrain. Never touches the repository's stack files."""
    from . import spec as spec_mod
    from .demo import SCENARIOS

    if scenario not in SCENARIOS:
        ui.fail(f"--scenario {scenario!r} is not a scenario; allowed: {', '.join(SCENARIOS)}", 2)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .demo import Demo, DemoError

    if stack_file is None:
        ui.load(stack, None)
    else:
        ui.load(None, stack_file)
    out = err if json_out else console
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=out,
                  transient=True) as progress:
        task = progress.add_task("starting", total=None)

        def on_step(key: str, title: str) -> None:
            progress.update(task, description=f"[bold]{title}[/]")

        def on_done(step) -> None:
            progress.advance(task)
            progress.console.print(f"[green]ok[/] {step.title} [dim]({step.seconds:.1f}s)[/]\n   {step.detail}",
                                   highlight=False, soft_wrap=True)

        runner = Demo(stack, stack_file=stack_file, project=project, keep=keep, on_step=on_step, on_done=on_done,
                      scenario=scenario)
        try:
            result = runner.run()
        except (DemoError, spec_mod.SpecError) as exc:
            progress.stop()
            ui.fail(f"demo failed: {exc}", 1)
    if json_out:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=f"ladder demo: stack {result.stack}, project {result.project} "
                        f"({result.seconds:.1f}s)", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    counts = ", ".join(f"{k} {v}" for k, v in result.resources.items() if v)
    table.add_row("resources", counts)
    if result.validated_only:
        table.add_row("validated, not emulated", "\n".join(result.validated_only))
    for k, v in result.arns.items():
        table.add_row(k, v)
    for k, v in result.metrics.items():
        table.add_row(k, json.dumps(v))
    for s in result.steps:
        table.add_row(f"{s.key} time", f"{s.seconds:.2f}s")
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if result.kept:
        console.print(f"kept: {result.workdir}")
