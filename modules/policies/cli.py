"""``ladder check``: the policy pack over the offline plan, grouped by resource.

Exit codes: 0 no mandatory violation (advisories and waivers are reported), 1 a mandatory violation (or the
program failed), 2 bad input (spec errors, an exception naming an unknown rule).

This module owns its Typer ``app`` (the ``check`` command); modules/cli.py composes it, and
``register(app)`` adds the same command to any Typer app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.tree import Tree

from .. import console as ui
from ..console import console
from .rules import MANDATORY, RULES


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to ``app``."""
    app.command("check")(check)


def check(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack name: reads stacks/Pulumi.<stack>.yaml."),
    stack_file: Optional[Path] = typer.Option(None, "--stack-file", "-f", dir_okay=False,
                                              help="Any stack file (instead of --stack)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    list_rules: bool = typer.Option(False, "--rules", help="List the rules of the pack and exit."),
    write_policy_config: Optional[Path] = typer.Option(
        None, "--write-policy-config", dir_okay=False,
        help="Also write the stack's waivers as a --policy-pack-config file for `pulumi preview`."),
) -> None:
    """Run the policy pack (CrossGuard format) over the offline plan; exit 1 on a mandatory violation."""
    if list_rules:
        _print_rules(json_out)
        return
    from ..spec import SpecError
    from . import runner

    spec = ui.load(stack, stack_file)
    try:
        runner.validate_exceptions(spec)
    except SpecError as exc:
        ui.errors(str(exc), 2)
    graph = ui.plan_graph(stack, stack_file)
    report = runner.run_checks(graph, spec)
    if write_policy_config is not None:
        write_policy_config.write_text(json.dumps(runner.policy_pack_config(spec), indent=2) + "\n")
    if json_out:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        console.print(render(report))
    raise typer.Exit(0 if report.passed else 1)


app = typer.Typer(add_completion=False)
register(app)


def render(report) -> Tree:
    status = "[bold green]passed[/]" if report.passed else "[bold red]failed[/]"
    tree = Tree(f"[bold]check stack {report.stack}[/] ({report.environment}, level {report.maturity}): {status} - "
                f"{len(report.mandatory)} mandatory, {len(report.advisory)} advisory, {len(report.waived)} waived; "
                f"{report.rules} rules over {report.resources} resources")
    groups: dict[tuple[str, str], list] = {}
    for v in report.violations:
        key = (v.urn or "", f"{v.name} [dim]{v.type}[/]" if v.urn else "(stack)")
        groups.setdefault(key, []).append(v)
    for (_, label), items in sorted(groups.items()):
        node = tree.add(label)
        for v in items:
            if v.waived:
                badge = "[cyan]waived[/]"
            elif v.severity == MANDATORY:
                badge = "[bold red]mandatory[/]"
            else:
                badge = "[yellow]advisory[/]"
            refs = f" [dim]({', '.join(v.refs)})[/]" if v.refs else ""
            leaf = node.add(f"{badge} [bold]{v.rule}[/] {v.message}{refs}", highlight=False)
            if v.waived:
                leaf.add(f"[cyan]reason:[/] {v.reason}")
    for note in report.notes:
        tree.add(f"[yellow]note:[/] {note}")
    if not report.violations:
        tree.add("[green]no violations[/]")
    return tree


def _print_rules(json_out: bool) -> None:
    if json_out:
        typer.echo(json.dumps([{"id": r.id, "severity": r.severity, "scope": r.scope, "title": r.title, "why": r.why,
                                "types": list(r.types), "refs": list(r.refs)} for r in RULES], indent=2))
        return
    table = Table(title=f"mlops-ladder policy pack: {len(RULES)} rules")
    for col in ("Id", "Severity", "Rule", "Why", "Known ids"):
        table.add_column(col)
    for r in RULES:
        table.add_row(r.id, r.severity, r.title, r.why, ", ".join(r.refs))
    console.print(table)
