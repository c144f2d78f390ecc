"""``ladder``: plan, check, scaffold and run an MLOps stack offline.

Exit codes: 0 ok, 1 a command failed (or ``check`` found a mandatory violation), 2 bad input (spec errors,
unknown stack or project).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from . import levels as levels_mod
from . import spec as spec_mod

app = typer.Typer(
    name="ladder",
    help="mlops-ladder: declare an MLOps maturity level (0-4) per environment; plan, check, scaffold and run "
         "the AWS stack for it offline. The production path is `pulumi up` with the same stack files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

StackOpt = typer.Option(None, "--stack", "-s", help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
StackFileOpt = typer.Option(None, "--stack-file", "-f", help="Any stack file (instead of --stack).",
                            exists=False, dir_okay=False)
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def _fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _resolve(stack: Optional[str], stack_file: Optional[Path]) -> tuple[Optional[str], Optional[Path]]:
    if stack is not None and stack_file:
        _fail("give either --stack or --stack-file, not both", 2)
    if stack is not None:
        problem = stack_name_problem(stack)
        if problem:
            _fail(problem, 2)
    if stack is None and not stack_file:
        stack = "dev"
    return stack, stack_file


def stack_name_problem(stack: str) -> Optional[str]:
    """Why ``--stack`` is not a stack name (empty, or not a Pulumi stack name), with the known stacks; or None."""
    from .validation import STACK_NAME_RE

    if STACK_NAME_RE.match(stack):
        return None
    known = sorted(spec_mod.stack_name_of(p) for p in spec_mod.STACKS_DIR.glob("Pulumi.*.yaml"))
    shown = repr(stack[:60]) + ("..." if len(stack) > 60 else "")
    what = "is empty" if not stack.strip() else (f"{shown} is not a stack name (letters, digits, '-', '_' and "
                                                 f"'.', as Pulumi allows)")
    return f"--stack {what}; give a stack name, e.g. --stack dev (known stacks: {', '.join(known) or 'none'})"


def _load(stack: Optional[str], stack_file: Optional[Path], **kw) -> spec_mod.StackSpec:
    return _load_with_config(stack, stack_file, **kw)[0]


def _load_with_config(stack: Optional[str], stack_file: Optional[Path], **kw) -> tuple[spec_mod.StackSpec, dict]:
    """The spec and its config; every spec problem printed and exit 2 on bad input."""
    stack, stack_file = _resolve(stack, stack_file)
    try:
        loaded = spec_mod.load_with_config(stack, stack_file, **kw)
    except spec_mod.SpecError as exc:
        for line in str(exc).splitlines():
            err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _warn(loaded[0])
    return loaded


def _warn(s: spec_mod.StackSpec) -> None:
    for line in getattr(s, "warnings", ()):
        err.print(f"[bold yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


def _plan(stack: Optional[str], stack_file: Optional[Path], maturity: Optional[int] = None):
    from . import plan as plan_mod

    stack, stack_file = _resolve(stack, stack_file)
    try:
        return plan_mod.plan(stack=stack, path=stack_file, maturity=maturity)
    except spec_mod.SpecError as exc:
        for line in str(exc).splitlines():
            err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except plan_mod.ProgramError as exc:
        _fail(f"the program failed under the offline engine: {exc}", 1)


@app.command()
def levels(json_out: bool = JsonOpt) -> None:
    """Print the maturity levels and what each one provisions."""
    if json_out:
        data = [{
            "level": lv.number, "slug": lv.slug, "name": lv.name, "microsoft": lv.microsoft, "google": lv.google,
            "meaning": lv.meaning,
            "adds": [{"capability": c.key, "scope": c.scope, "provisions": c.provisions, "requires": list(c.requires)}
                     for c in levels_mod.CAPABILITIES if c.min_level == lv.number],
        } for lv in levels_mod.LEVELS]
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title="MLOps maturity levels (each level adds to the one below)", show_lines=True)
    table.add_column("Level", justify="center")
    table.add_column("Name")
    table.add_column("Microsoft / Google")
    table.add_column("Adds")
    for lv in levels_mod.LEVELS:
        adds = "\n".join(f"[bold]{c.key}[/] ({c.scope}): {c.provisions}"
                         for c in levels_mod.CAPABILITIES if c.min_level == lv.number)
        table.add_row(f"{lv.number}\n{lv.slug}", f"{lv.name}\n[dim]{lv.meaning}[/]", f"{lv.microsoft}\n{lv.google}", adds)
    console.print(table)


@app.command()
def validate(stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt,
             json_out: bool = JsonOpt) -> None:
    """Validate a stack spec; print every problem (file, key path, what is allowed); exit 2 on any."""
    s = _load(stack, stack_file)
    if json_out:
        typer.echo(json.dumps({"stack": s.stack, "valid": True, "spec": s.model_dump(by_alias=True)}, indent=2))
    else:
        console.print(f"[green]ok[/] {s.source}: level {s.maturity} ({levels_mod.level(s.maturity).slug}), "
                      f"{len(s.projects)} project(s), capabilities: {', '.join(sorted(s.capabilities))}")


def render_plan(graph, title: str | None = None) -> Tree:
    lv = levels_mod.level(graph.maturity)
    custom = [r for r in graph.resources if r.custom]
    tree = Tree(title or f"[bold]stack {graph.stack}[/] ({graph.environment}, level {lv.number} {lv.slug}): "
                         f"{len(custom)} resources in {len(graph.resources) - len(custom)} components")
    nodes = {}
    for r in sorted(graph.resources, key=lambda r: (r.urn.count("$"), r.urn)):
        if r.custom:
            continue
        parent = nodes.get(r.parent, tree)
        descendants = [c for c in custom if c.urn.startswith(r.urn.split("::")[0]) and _under(graph, c, r.urn)]
        counts = Counter(c.type.rsplit(":", 1)[-1] for c in descendants)
        label = f"[bold cyan]{r.name}[/] [dim]{r.type}[/] ({len(descendants)})"
        nodes[r.urn] = parent.add(label)
        for kind, n in sorted(counts.items()):
            nodes[r.urn].add(f"{kind} x{n}" if n > 1 else kind)
    orphans = [r for r in custom if r.parent is None]
    for r in orphans:
        tree.add(f"{r.name} [dim]{r.type}[/]")
    for note in graph.notes:
        tree.add(f"[yellow]note:[/] {note}")
    return tree


def _under(graph, res, ancestor_urn: str) -> bool:
    parents = {r.urn: r.parent for r in graph.resources}
    p = res.parent
    while p:
        if p == ancestor_urn:
            return True
        p = parents.get(p)
    return False


@app.command()
def plan(stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt, json_out: bool = JsonOpt,
         compare_level: Optional[int] = typer.Option(
             None, "--compare-level", min=0, max=levels_mod.MAX_LEVEL,
             help="Also plan the same spec at level N and list what it adds or removes."),
         ) -> None:
    """Run the Pulumi program offline (mocks, no credentials, no network) and show the resource graph."""
    graph = _plan(stack, stack_file)
    other = _plan(stack, stack_file, maturity=compare_level) if compare_level is not None else None
    if other is not None:
        from .plan import compare

        diff = compare(graph, other)
        if json_out:
            typer.echo(json.dumps({
                "stack": graph.stack, "from": graph.maturity, "to": other.maturity,
                "added": [{"urn": r.urn, "type": r.type, "name": r.name} for r in diff.added],
                "removed": [{"urn": r.urn, "type": r.type, "name": r.name} for r in diff.removed],
                "changed": [{"urn": a.urn, "type": a.type, "name": a.name} for a, _ in diff.changed],
            }, indent=2))
            return
        console.print(render_plan(graph))
        verb = "adds" if other.maturity >= graph.maturity else "removes"
        console.print(f"\n[bold]Level {graph.maturity} -> {other.maturity}[/] {verb}: "
                      f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed")
        for r in diff.added:
            console.print(f"  [green]+ {r.type}[/] {r.name}", highlight=False)
        for r in diff.removed:
            console.print(f"  [red]- {r.type}[/] {r.name}", highlight=False)
        for a, _ in diff.changed:
            console.print(f"  [yellow]~ {a.type}[/] {a.name}", highlight=False)
        return
    if json_out:
        typer.echo(json.dumps(graph.to_json(), indent=2, default=str))
        return
    console.print(render_plan(graph))


@app.command()
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
    from .demo import SCENARIOS

    if scenario not in SCENARIOS:
        _fail(f"--scenario {scenario!r} is not a scenario; allowed: {', '.join(SCENARIOS)}", 2)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .demo import Demo, DemoError

    if stack_file is None:
        _load(stack, None)
    else:
        _load(None, stack_file)
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
            _fail(f"demo failed: {exc}", 1)
    if json_out:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
        return
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


def scaffold_context(s: spec_mod.StackSpec, project: spec_mod.Project) -> dict:
    """The template context a stack's spec gives a project (level, region, environment, repository, gates)."""
    return {
        "project_name": project.name,
        "project_slug": project.name,
        "maturity_level": s.maturity,
        "framework": project.framework,
        "aws_region": s.region,
        "environment": s.environment,
        "github_repository": s.repository_of(project),
        "quality_gate_metric": project.training.quality_gate.metric,
        "quality_gate_min": project.training.quality_gate.min,
        "drift_threshold": project.monitoring.drift_threshold,
    }


@app.command()
def new(project: str = typer.Argument(..., help="Project name as declared in the stack's mlops:projects."),
        stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt,
        output_dir: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to create <project>/."),
        force: bool = typer.Option(False, "--force", help="Overwrite files in a non-empty target directory."),
        json_out: bool = JsonOpt) -> None:
    """Scaffold an ML project repository that matches the stack's level (cookiecutter templates/ml-project)."""
    from . import scaffold

    s = _load(stack, stack_file)
    try:
        proj = s.project(project)
    except KeyError as exc:
        _fail(str(exc.args[0]), 2)
    context = scaffold_context(s, proj)
    if output_dir.exists() and not output_dir.is_dir():
        _fail(f"--output-dir {output_dir} is a file; give a directory (it is created if missing)", 2)
    try:
        path = scaffold.bake(context, output_dir, force=force)
    except scaffold.ScaffoldError as exc:
        _fail(str(exc), 1 if "already exists" in str(exc) else 2)
    except OSError as exc:  # unwritable directory, disk full, ...: nothing is left half written (bake cleans up)
        _fail(f"cannot write the project under {output_dir}: {exc.strerror or exc}"
              f"{f' ({exc.filename})' if exc.filename else ''}", 1)
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    if json_out:
        typer.echo(json.dumps({"project": project, "stack": s.stack, "path": str(path), "context": context,
                               "files": files}, indent=2, default=str))
        return
    console.print(f"[green]created[/] {path} ({len(files)} files) for level {s.maturity} "
                  f"({levels_mod.level(s.maturity).slug}) of stack {s.stack}")
    console.print(f"next: cd {path} && make install && make test && make train-local")


def _register_extensions() -> None:
    """Commands that live next to their engines: `check` (policies), `up`/`down`/`sandbox` (sandbox),
    `deploy`/`promote` (deployment), `verify-request` (deploy requests)."""
    from . import deploy, deploy_request
    from .policies import cli as policies_cli
    from .sandbox import cli as sandbox_cli

    for module in (policies_cli, sandbox_cli, deploy, deploy_request):
        module.register(app)


_register_extensions()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
