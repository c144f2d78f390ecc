"""What every ``ladder`` command shares: the consoles, ``fail``, the ``--stack``/``--stack-file``/``--json``
options and loading a stack or its plan with one clear error per problem (exit 2 on bad input).

Light on purpose: importing it loads typer and rich only; the spec (pydantic) and the plan (Pulumi) are imported
when a command asks for them. Command modules (modules/cli.py, policies/cli.py, sandbox/cli.py, demo_cli.py, ...)
import this, never the root app in modules/cli.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

if TYPE_CHECKING:  # pragma: no cover
    from .plan import Graph
    from .spec import StackSpec

console = Console()
err = Console(stderr=True)

StackOpt = typer.Option(None, "--stack", "-s", help="Stack name: reads stacks/Pulumi.<stack>.yaml.")
StackFileOpt = typer.Option(None, "--stack-file", "-f", help="Any stack file (instead of --stack).",
                            exists=False, dir_okay=False)
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")


def fail(message: str, code: int) -> None:
    """Print ``error: message`` on stderr and exit with ``code`` (2 bad input, 1 a failed command)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def errors(text: str, code: int = 2) -> None:
    """One ``error:`` line per line of ``text`` (a SpecError lists every problem), then exit ``code``."""
    for line in str(text).splitlines():
        err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(lines) -> None:
    for line in lines:
        err.print(f"[bold yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


def stack_name_problem(stack: str) -> Optional[str]:
    """Why ``--stack`` is not a stack name (empty, or not a Pulumi stack name), with the known stacks; or None."""
    from .validation import STACK_NAME_RE

    if STACK_NAME_RE.match(stack):
        return None
    from . import spec as spec_mod

    known = sorted(spec_mod.stack_name_of(p) for p in spec_mod.stack_file("x").parent.glob("Pulumi.*.yaml"))
    shown = repr(stack[:60]) + ("..." if len(stack) > 60 else "")
    what = "is empty" if not stack.strip() else (f"{shown} is not a stack name (letters, digits, '-', '_' and "
                                                 f"'.', as Pulumi allows)")
    return f"--stack {what}; give a stack name, e.g. --stack dev (known stacks: {', '.join(known) or 'none'})"


def resolve(stack: Optional[str], stack_file: Optional[Path]) -> tuple[Optional[str], Optional[Path]]:
    """``--stack``/``--stack-file`` checked (not both, a valid name); neither means ``dev``."""
    if stack is not None and stack_file:
        fail("give either --stack or --stack-file, not both", 2)
    if stack is not None:
        problem = stack_name_problem(stack)
        if problem:
            fail(problem, 2)
    if stack is None and not stack_file:
        stack = "dev"
    return stack, stack_file


def load_with_config(stack: Optional[str], stack_file: Optional[Path], **kw) -> tuple[StackSpec, dict]:
    """The spec and its config; every spec problem printed and exit 2 on bad input."""
    from . import spec as spec_mod

    stack, stack_file = resolve(stack, stack_file)
    try:
        loaded = spec_mod.load_with_config(stack, stack_file, **kw)
    except spec_mod.SpecError as exc:
        errors(str(exc), 2)
    warn(getattr(loaded[0], "warnings", ()))
    return loaded


def load(stack: Optional[str], stack_file: Optional[Path], **kw) -> StackSpec:
    return load_with_config(stack, stack_file, **kw)[0]


def plan_graph(stack: Optional[str], stack_file: Optional[Path], maturity: Optional[int] = None) -> Graph:
    """The offline plan of the stack (exit 2 on a spec problem, 1 when the program fails under mocks)."""
    import gc

    stack, stack_file = resolve(stack, stack_file)
    was_enabled = gc.isenabled()
    gc.disable()  # the imports below (Pulumi, the spec's models) as well as the run: see plan.gc_paused
    try:
        from . import plan as plan_mod
        from . import spec as spec_mod

        try:
            return plan_mod.plan(stack=stack, path=stack_file, maturity=maturity)
        except spec_mod.SpecError as exc:
            errors(str(exc), 2)
        except plan_mod.ProgramError as exc:
            fail(f"the program failed under the offline engine: {exc}", 1)
    finally:
        if was_enabled:
            gc.enable()
