"""``ladder``: plan, check, scaffold and run an MLOps stack offline.

Exit codes: 0 ok, 1 a command failed (or ``check`` found a mandatory violation), 2 bad input (spec errors,
unknown stack or project).

The root app holds the light commands (levels, validate, plan, new) and composes the others from ``COMMANDS``:
each command module owns its Typer ``app`` (or a ``register(app)``) and is imported only when one of its commands
runs, so ``ladder --help`` and ``ladder validate`` load neither Pulumi, the SageMaker SDK nor boto3. No module
imports this one's ``app``; the shared helpers live in modules/console.py.
"""

from __future__ import annotations

import functools
import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from . import console as ui
from . import levels as levels_mod
from .console import JsonOpt, StackFileOpt, StackOpt, console

# The composition point: (command, the module that owns it, the line `ladder --help` shows). One line per command.
# The module exposes a Typer `app` with the command at its top level (or a `register(typer_app)` function).
# tests/test_cli_composition.py checks every line against the command's own docstring.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("demo", "modules.demo_cli", "The whole MLOps lifecycle offline on an embedded moto server: provision, scaffold, "
                                 "train, register, approve, deploy, smoke-test, detect drift, retrain. Never touches the "
                                 "repository's stack files."),
    ("check", "modules.policies.cli", "Run the policy pack (CrossGuard format) over the offline plan; exit 1 on a "
                                      "mandatory violation."),
    ("up", "modules.sandbox.cli", "Create or update the stack in the local moto sandbox (idempotent; `--sandbox` "
                                  "required)."),
    ("down", "modules.sandbox.cli", "Delete everything the sandbox state of the stack lists (dependents first) and "
                                    "the state file."),
    ("sandbox", "modules.sandbox.cli", "The local AWS sandbox (moto): serve it for `up`/`down`."),
    ("deploy", "modules.deploy", "Declare a model package for a project's endpoint in the stack file and deploy it "
                                 "(`pulumi up`)."),
    ("promote", "modules.deploy", "Copy the model package ARN a project runs in one stack (e.g. staging) to another "
                                  "(e.g. prod)."),
    ("verify-request", "modules.deploy_request", "Check a deploy request: environment, project, ARN, the project's "
                                                 "group, Approved (exit 2 if not)."),
    ("upgrade", "modules.upgrade", "Merge the template, re-rendered from the stack's spec, into a repository made by "
                                   "`ladder new`."),
)


@functools.cache
def command_group(module_name: str) -> TyperGroup:
    """The click group of a command module's own Typer app (the module is imported on first use)."""
    module = importlib.import_module(module_name)
    sub = getattr(module, "app", None)
    if not isinstance(sub, typer.Typer):
        sub = typer.Typer()
        module.register(sub)
    return typer.main.get_group(sub)


class LadderGroup(TyperGroup):
    """The root group: its own commands plus ``COMMANDS``, each loaded when it runs; ``--help`` lists them from
    their help lines without importing them."""

    _listing = False

    def list_commands(self, ctx) -> list[str]:
        own = super().list_commands(ctx)
        return own + [name for name, _, _ in COMMANDS if name not in own]

    def get_command(self, ctx, cmd_name: str):
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        for name, module_name, help_line in COMMANDS:
            if name == cmd_name:
                if self._listing:
                    return TyperCommand(name=name, help=help_line, callback=None)
                return command_group(module_name).get_command(ctx, name)
        return None

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            return super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:  # typer suggests among its own commands only
            if args and "Did you mean" not in exc.message:
                import difflib

                close = difflib.get_close_matches(args[0], [name for name, _, _ in COMMANDS])
                if close:
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, close))}?"
            raise


app = typer.Typer(
    name="ladder",
    cls=LadderGroup,
    help="mlops-ladder: declare an MLOps maturity level (0-4) per environment; plan, check, scaffold and run "
         "the AWS stack for it offline. The production path is `pulumi up` with the same stack files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = ui.err

# The former names, for existing callers (tests, scripts); the helpers live in modules/console.py.
_fail = ui.fail
_resolve = ui.resolve
_load = ui.load
_load_with_config = ui.load_with_config
stack_name_problem = ui.stack_name_problem


def _plan(stack: Optional[str], stack_file: Optional[Path], maturity: Optional[int] = None):
    return ui.plan_graph(stack, stack_file, maturity)


def scaffold_context(s, project) -> dict:
    """The template context a stack's spec gives a project (modules/scaffold.py ``context_for``)."""
    from .scaffold import context_for

    return context_for(s, project)


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
    from rich.table import Table

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
    s = ui.load(stack, stack_file)
    if json_out:
        typer.echo(json.dumps({"stack": s.stack, "valid": True, "spec": s.model_dump(by_alias=True)}, indent=2))
    else:
        console.print(f"[green]ok[/] {s.source}: level {s.maturity} ({levels_mod.level(s.maturity).slug}), "
                      f"{len(s.projects)} project(s), capabilities: {', '.join(sorted(s.capabilities))}")


def render_plan(graph, title: str | None = None):
    from collections import Counter

    from rich.tree import Tree

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
    graph = ui.plan_graph(stack, stack_file)
    other = ui.plan_graph(stack, stack_file, maturity=compare_level) if compare_level is not None else None
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
def new(project: str = typer.Argument(..., help="Project name as declared in the stack's mlops:projects."),
        stack: Optional[str] = StackOpt, stack_file: Optional[Path] = StackFileOpt,
        output_dir: Path = typer.Option(Path("."), "--output-dir", "-o", help="Where to create <project>/."),
        force: bool = typer.Option(False, "--force", help="Overwrite files in a non-empty target directory."),
        json_out: bool = JsonOpt) -> None:
    """Scaffold an ML project repository that matches the stack's level (cookiecutter templates/ml-project)."""
    from . import scaffold

    s = ui.load(stack, stack_file)
    try:
        proj = s.project(project)
    except KeyError as exc:
        ui.fail(str(exc.args[0]), 2)
    context = scaffold_context(s, proj)
    if output_dir.exists() and not output_dir.is_dir():
        ui.fail(f"--output-dir {output_dir} is a file; give a directory (it is created if missing)", 2)
    try:
        path = scaffold.bake(context, output_dir, force=force, origin={"stack": s.stack})  # .cruft.json (upgrade)
    except scaffold.ScaffoldError as exc:
        ui.fail(str(exc), 1 if "already exists" in str(exc) else 2)
    except OSError as exc:  # unwritable directory, disk full, ...: nothing is left half written (bake cleans up)
        ui.fail(f"cannot write the project under {output_dir}: {exc.strerror or exc}"
              f"{f' ({exc.filename})' if exc.filename else ''}", 1)
    files = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    if json_out:
        typer.echo(json.dumps({"project": project, "stack": s.stack, "path": str(path), "context": context,
                               "files": files}, indent=2, default=str))
        return
    console.print(f"[green]created[/] {path} ({len(files)} files) for level {s.maturity} "
                  f"({levels_mod.level(s.maturity).slug}) of stack {s.stack}")
    console.print(f"next: cd {path} && make install && make test && make train-local")


# Commands whose process ends when they return and that allocate a lot on the way (the typed SDK imports, the
# program's registrations): their process runs without the cyclic garbage collector (modules/plan.py
# gc_paused says why; whatever a cycle holds is returned to the system at exit, and the objects are frozen
# before it so the interpreter's final collection skips them). Everything else - the demo, the
# sandbox server, deploy, upgrade, and every in-process caller of `app` (tests) - keeps it.
ONE_SHOT = frozenset({"plan", "check", "validate", "levels"})


def main(argv: list[str] | None = None) -> None:
    """The ``ladder`` console entry point (pyproject ``[project.scripts]``)."""
    args = sys.argv[1:] if argv is None else argv
    if not (args and args[0] in ONE_SHOT):
        app(args=args, prog_name="ladder")
        return
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        app(args=args, prog_name="ladder")
    finally:
        # the process exits next: without this, the interpreter's final collection traverses every object the
        # SDK imports made (~0.3 s, a quarter of a plan) to free nothing the exit would not free anyway. Frozen
        # objects are skipped by every later collection, so the collector is given back as it was (an in-process
        # caller of main keeps a working collector).
        gc.freeze()
        if was_enabled:
            gc.enable()


if __name__ == "__main__":  # pragma: no cover
    main()
