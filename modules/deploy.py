"""`ladder deploy` and `ladder promote`: a deployment is a change to a stack's declared state.

- ``deploy`` resolves a model package (given, or the newest Approved one of the project's group), writes its
  ARN to ``mlops:projects[i].serving.modelPackageArn`` of the stack file - comments and key order kept - and
  runs ``pulumi up`` for that stack through the Automation API when the Pulumi CLI is installed (otherwise it
  prints the exact command).
- ``promote`` copies the ARN a project has in one stack file (e.g. staging) to another (e.g. prod).

The platform's Pulumi program then replaces the model and endpoint config create-before-delete and updates the
endpoint blue/green with auto-rollback (``modules/components/deployment.py``). ``AWS_ENDPOINT_URL`` is
honoured, so ``--latest-approved`` works against moto.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from typing import Any, Optional

import typer

from . import spec as spec_mod
from .files import atomic_write, write_beside
from .paths import project_root
from .spec import SpecError, StackSpec

ARN_KEY = "modelPackageArn"
PREVIOUS_KEY = "previousModelPackageArn"
CODE_KEY = "codeVersion"


class DeployError(RuntimeError):
    """A deploy/promote that cannot proceed; ``code`` is the CLI exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------

def sagemaker_client(region: str):
    import boto3

    return boto3.client("sagemaker", region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def latest_approved(group: str, region: str, client=None) -> str:
    """ARN of the newest Approved model package in ``group``; DeployError when there is none."""
    sm = client or sagemaker_client(region)
    try:
        response = sm.list_model_packages(ModelPackageGroupName=group, ModelApprovalStatus="Approved",
                                          SortBy="CreationTime", SortOrder="Descending", MaxResults=100)
    except Exception as exc:  # botocore ClientError / endpoint errors: say which group and region
        raise DeployError(f"could not list model packages of {group!r} in {region}: {exc}") from None
    # Re-check status and order locally: never deploy a Pending or Rejected package, whatever the API returned.
    approved = [p for p in response.get("ModelPackageSummaryList", [])
                if p.get("ModelApprovalStatus") == "Approved"]
    if not approved:
        raise DeployError(f"no Approved model package in group {group!r} ({region}); approve one first, e.g. "
                          f"aws sagemaker update-model-package --model-package-arn <arn> "
                          f"--model-approval-status Approved")
    approved.sort(key=lambda p: p["CreationTime"], reverse=True)
    return approved[0]["ModelPackageArn"]


# ---------------------------------------------------------------------------------------------------
# Stack file rewrite (round-trip: comments, order and flow/block style kept)
# ---------------------------------------------------------------------------------------------------

def _yaml():
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _project_node(doc: Any, project: str, path: Path) -> Any:
    config = doc.get("config") if hasattr(doc, "get") else None
    projects = config.get(f"{spec_mod.NAMESPACE}:projects") if config is not None else None
    for item in projects or []:
        if hasattr(item, "get") and item.get("name") == project:
            return item
    known = ", ".join(str(i.get("name")) for i in projects or [] if hasattr(i, "get")) or "(none)"
    raise DeployError(f"{path}: unknown project {project!r}; known projects: {known}", code=2)


def read_arn(path: Path, project: str) -> Optional[str]:
    doc = _yaml().load(path.read_text())
    serving = _project_node(doc, project, path).get("serving")
    return serving.get(ARN_KEY) if serving is not None and hasattr(serving, "get") else None


def rewrite_arn(text: str, project: str, arn: str, path: Path = Path("<stack>"),
                code_version: Optional[str] = None, baseline: Optional[tuple[str, str]] = None) -> str:
    """``text`` with ``mlops:projects[<project>].serving.modelPackageArn`` set to ``arn`` (and, when given,
    ``training.codeVersion`` set to ``code_version`` and ``monitoring.baseline`` to the package's data-quality
    baseline ``(statistics, constraints)``: the monitor compares traffic with the baseline of the model serving)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    arn = DoubleQuotedScalarString(arn)  # ':' inside a flow mapping: quoted, so every YAML parser agrees
    y = _yaml()
    doc = y.load(text)
    node = _project_node(doc, project, path)
    serving = node.get("serving")
    if serving is None:
        serving = CommentedMap()
        keys = list(node.keys())
        pos = keys.index("training") + 1 if "training" in keys else len(keys)
        node.insert(pos, "serving", serving)
    current = serving.get(ARN_KEY)
    if current and str(current) != str(arn):
        # the package served until now stays declared (its model and config), the rollback target of this update
        prev = DoubleQuotedScalarString(str(current))
        if PREVIOUS_KEY in serving:
            serving[PREVIOUS_KEY] = prev
        else:
            serving.insert(list(serving.keys()).index(ARN_KEY) + 1, PREVIOUS_KEY, prev)
    if ARN_KEY in serving:
        serving[ARN_KEY] = arn
    else:
        serving.insert(len(serving), ARN_KEY, arn)
    if code_version:
        training = node.get("training")
        if training is None:
            training = CommentedMap()
            node.insert(list(node.keys()).index("serving"), "training", training)
        training[CODE_KEY] = DoubleQuotedScalarString(code_version)
    if baseline:
        monitoring = node.get("monitoring")
        if monitoring is None:
            monitoring = CommentedMap()
            node.insert(len(node), "monitoring", monitoring)
        pinned = CommentedMap()
        pinned["statisticsUri"] = DoubleQuotedScalarString(baseline[0])
        pinned["constraintsUri"] = DoubleQuotedScalarString(baseline[1])
        monitoring["baseline"] = pinned
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


def write_arn(path: Path, project: str, arn: str, code_version: Optional[str] = None,
              baseline: Optional[tuple[str, str]] = None) -> StackSpec:
    """Rewrite the stack file atomically: the new text is validated in a temp file beside it, then renamed over
    it (fsync'd), so the file is always either the old or the new version, never half written or invalid."""
    if not os.access(path, os.W_OK):
        raise DeployError(f"cannot write {path}: the file is read-only (or not yours); nothing was changed - make it "
                          f"writable, or set serving.{ARN_KEY}: \"{arn}\" yourself")
    try:
        original = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"cannot read {path}: {exc.strerror or exc}") from None
    text = rewrite_arn(original, project, arn, path, code_version, baseline)
    try:
        tmp = write_beside(path, text)
    except OSError as exc:
        raise DeployError(f"cannot write {path} (a temp file in its directory): {exc.strerror or exc}; nothing was "
                          f"changed") from None
    try:
        try:
            updated = spec_mod.load(path=tmp)
        except SpecError as exc:
            raise SpecError(str(path), exc.problems) from None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise DeployError(f"cannot replace {path}: {exc.strerror or exc}; nothing was changed") from None
    finally:
        tmp.unlink(missing_ok=True)
    _DONE.append(f"wrote {ARN_KEY} {arn} into {path}")
    return updated.model_copy(update={"source": str(path)})


# ---------------------------------------------------------------------------------------------------
# pulumi up
# ---------------------------------------------------------------------------------------------------

def up_blocker(stack: str, path: Path) -> Optional[str]:
    """Why ``pulumi up`` cannot run here (the next step to print), or None when it can."""
    command = f"pulumi up --stack {stack}"
    if path.resolve() != spec_mod.stack_file(stack, project_root()).resolve():
        return f"next: copy {path} to stacks/Pulumi.{stack}.yaml of the platform repository, then `{command}`"
    if shutil.which("pulumi") is None:
        return f"next: `{command}` (the Pulumi CLI is not installed here, so nothing was deployed yet)"
    return None


def pulumi_up(stack: str, path: Path, echo=typer.echo) -> Optional[dict[str, Any]]:
    """Run ``pulumi up`` for ``stack`` via the Automation API when the CLI is installed; else print the command.

    Returns the stack's outputs when an update ran, else None.
    """
    command = f"pulumi up --stack {stack}"
    root = project_root()
    blocker = up_blocker(stack, path)
    if blocker is not None:
        echo(blocker)
        return None
    from pulumi import automation as auto

    echo(f"running `{command}` (Pulumi Automation API, work dir {root})")
    _DONE.append(f"`{command}` was started (Pulumi keeps its own record of what it applied)")
    stack_obj = auto.select_stack(stack_name=stack, work_dir=str(root))
    result = stack_obj.up(on_output=echo)
    echo(f"pulumi up: {result.summary.result}")
    return {k: v.value for k, v in (result.outputs or {}).items()}


# ---------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------

def _stack_path(stack: Optional[str], stack_file: Optional[Path]) -> tuple[str, Path]:
    from .console import stack_name_problem

    if stack is not None and stack_file:
        raise DeployError("give either --stack or --stack-file, not both", code=2)
    if stack_file is not None:
        return spec_mod.stack_name_of(stack_file), stack_file
    if stack is None:
        raise DeployError("give --stack (or --stack-file)", code=2)
    problem = stack_name_problem(stack)
    if problem:
        raise DeployError(problem, code=2)
    return stack, spec_mod.stack_file(stack, project_root())


def _load(path: Path) -> StackSpec:
    try:
        return spec_mod.load(path=path)
    except SpecError as exc:
        raise DeployError(str(exc), code=2) from None


def _project(s: StackSpec, project: str, path: Path):
    for p in s.projects:
        if p.name == project:
            return p
    known = ", ".join(p.name for p in s.projects) or "(none)"
    raise DeployError(f"{path}: unknown project {project!r}; known projects: {known}", code=2)


def package_code_version(arn: str, region: str, client=None) -> Optional[str]:
    """The code version (git SHA) the pipeline recorded on the package (CustomerMetadataProperties.CodeVersion)."""
    return package_metadata(arn, region, client)[0]


def package_metadata(arn: str, region: str, client=None) -> tuple[Optional[str], Optional[tuple[str, str]]]:
    """(code version, data-quality baseline (statistics, constraints)) the pipeline recorded on the package."""
    from .components.monitor_signals import package_baseline_uris

    sm = client or sagemaker_client(region)
    desc = sm.describe_model_package(ModelPackageName=arn)
    return (desc.get("CustomerMetadataProperties") or {}).get("CodeVersion"), package_baseline_uris(desc)


def deploy(stack: Optional[str], stack_file: Optional[Path], project: str, model_package_arn: Optional[str],
           latest: bool, run_up: bool = True, echo=typer.echo) -> str:
    name, path = _stack_path(stack, stack_file)
    if bool(model_package_arn) == bool(latest):
        raise DeployError("give exactly one of --model-package-arn ARN and --latest-approved", code=2)
    s = _load(path)
    _project(s, project, path)
    if latest:
        group = s.naming.project(project)  # the project's model package group (registry component)
        model_package_arn = latest_approved(group, s.region)
        echo(f"newest Approved package of {group}: {model_package_arn}")
    assert model_package_arn is not None
    previous = read_arn(path, project)
    # The environment retrains with the code that serves: scheduled and drift-triggered runs use the pipeline's
    # default CodeVersion, which is training.codeVersion - pin it to the deployed package's own code version.
    try:
        code_version, baseline = package_metadata(model_package_arn, s.region)
    except Exception as exc:  # noqa: BLE001 - no credentials or no access: the ARN is still deployed
        code_version, baseline = None, None
        echo(f"note: could not read the package's code version ({type(exc).__name__}); training.codeVersion unchanged")
    if not s.has("monitoring"):
        baseline = None
    if run_up and up_blocker(name, path) is None:
        _preflight(s, project, path, echo)  # before anything is written: an update AWS would refuse stops here
    original = path.read_text(encoding="utf-8")
    try:
        updated = write_arn(path, project, model_package_arn, code_version, baseline)
    except SpecError as exc:
        raise DeployError(str(exc), code=2) from None
    if previous == model_package_arn:
        echo(f"{path}: {project} already declares {model_package_arn}")
    else:
        echo(f"{path}: {project}.serving.{ARN_KEY} = {model_package_arn}" + (f" (was {previous})" if previous else ""))
    if code_version:
        echo(f"{path}: {project}.training.{CODE_KEY} = {code_version} (the package's code: scheduled and "
             f"drift-triggered retraining use it)")
    if baseline:
        echo(f"{path}: {project}.monitoring.baseline = the package's data-quality baseline ({baseline[0]})")
    if not updated.has("endpoint"):
        echo(f"warning: stack {name} is at level {updated.maturity} without the 'endpoint' capability; the ARN is "
             f"recorded but no endpoint is provisioned")
    if run_up:
        outputs = pulumi_up(name, path, echo)
        if outputs is not None:
            check_served(updated, project, outputs, path, original, echo)
    else:
        echo(f"next: `pulumi up --stack {name}`")
    return model_package_arn


def _clients(region: str):
    import boto3

    url = os.environ.get("AWS_ENDPOINT_URL") or None
    return (boto3.client("sagemaker", region_name=region, endpoint_url=url),
            boto3.client("application-autoscaling", region_name=region, endpoint_url=url),
            boto3.client("cloudwatch", region_name=region, endpoint_url=url))


def _restore(path: Path, original: str) -> None:
    """Put the stack file back as it was (never half written)."""
    atomic_write(path, original)


def _preflight(s: StackSpec, project: str, path: Path, echo=typer.echo) -> None:
    """Refuse (exit 2, nothing written) an update AWS would refuse: see modules/deploy_verify.py."""
    from .components.deployment import endpoint_name
    from .components.endpoint import instance_type_procedure
    from .deploy_verify import preflight

    p = _project(s, project, path)
    if not s.has("endpoint") or not p.serving.autoscaling:
        return
    sm, aas, _ = _clients(s.region)
    try:
        change = preflight(sm, aas, endpoint_name(s.naming, project), p.serving.instance_type)
    except Exception as exc:  # noqa: BLE001 - no credentials here: pulumi up will meet AWS's own answer
        echo(f"note: preflight skipped ({type(exc).__name__}: {exc})")
        return
    if change is not None:
        raise DeployError(instance_type_procedure(project, s.stack, *change) + f"\n{path} was left as it was.", code=2)


def check_served(s: StackSpec, project: str, outputs: dict[str, Any], path: Path, original: Optional[str] = None,
                 echo=typer.echo, clients=None):
    """After the update: the endpoint must serve what was deployed; on a rollback the stack file goes back to what
    serves (``original``) and DeployError (exit 1) says so. Returns the Verdict."""
    from .components.deployment import endpoint_name, rollback_alarm_names
    from .deploy_verify import verify

    p = _project(s, project, path)
    expected = ((outputs.get("projects") or {}).get(project) or {})
    config = expected.get("endpointConfigName")
    if not config and not s.has("endpoint"):
        echo(f"note: stack {s.stack} provisions no endpoint (level {s.maturity}); nothing to verify")
        return None
    if not config:  # an endpoint stack that exported nothing to check: unknown is not success
        raise DeployError(f"deploy not verified: the stack's outputs have no projects.{project}.endpointConfigName; "
                          f"check what the endpoint serves before relying on it", code=1)
    sm, _, cw = clients or _clients(s.region)
    try:
        verdict = verify(sm, endpoint_name(s.naming, project), config, p.serving.model_package_arn or "",
                         rollback_alarm_names(s.naming, p), cw)
    except Exception as exc:  # noqa: BLE001 - no access or no endpoint: one clear failure, not a traceback
        raise DeployError(f"deploy not verified: could not describe endpoint {endpoint_name(s.naming, project)} "
                          f"({type(exc).__name__}: {exc}); the update ran, check what serves before relying on it",
                          code=1) from None
    if verdict.ok:
        echo(f"verified: {verdict.message}")
        return verdict
    if original is not None:
        _restore(path, original)
        verdict.message += f"; {path} restored to the package that serves"
    raise DeployError(f"deploy failed: {verdict.message}", code=1)


def promote(project: str, source: str, target: str, stacks_dir: Optional[Path] = None, run_up: bool = False,
            echo=typer.echo) -> str:
    folder = stacks_dir if stacks_dir is not None else project_root() / "stacks"
    src_path, dst_path = folder / f"Pulumi.{source}.yaml", folder / f"Pulumi.{target}.yaml"
    if source == target:
        raise DeployError("--from and --to name the same stack", code=2)
    src = _load(src_path)
    arn = _project(src, project, src_path).serving.model_package_arn
    if not arn:
        raise DeployError(f"{src_path}: {project} has no serving.{ARN_KEY} in stack {source}; deploy there first "
                          f"(`ladder deploy --stack {source} --project {project} --latest-approved`)")
    dst = _load(dst_path)
    _project(dst, project, dst_path)
    echo(f"promoting {project}: {arn} ({source} -> {target})")
    return deploy(None, dst_path, project, arn, False, run_up=run_up, echo=echo)


def register(app: typer.Typer) -> None:
    """Add `deploy` and `promote` to the `ladder` CLI."""

    @app.command("deploy")
    def deploy_cmd(
        project: str = typer.Option(..., "--project", "-p", help="Project name from the stack's mlops:projects."),
        stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack name: stacks/Pulumi.<stack>.yaml."),
        stack_file: Optional[Path] = typer.Option(None, "--stack-file", "-f", dir_okay=False,
                                                  help="Any stack file (instead of --stack)."),
        model_package_arn: Optional[str] = typer.Option(None, "--model-package-arn",
                                                        help="The model package to deploy."),
        latest_approved_: bool = typer.Option(False, "--latest-approved",
                                              help="Deploy the newest Approved package of the project's group."),
        up: bool = typer.Option(True, "--up/--no-up", help="Run `pulumi up` afterwards (when the CLI is installed)."),
    ) -> None:
        """Declare a model package for a project's endpoint in the stack file and deploy it (`pulumi up`)."""
        target = f"--stack-file {stack_file}" if stack_file else f"--stack {stack}"
        which = f"--model-package-arn {model_package_arn}" if model_package_arn else "--latest-approved"
        _run(lambda: deploy(stack, stack_file, project, model_package_arn, latest_approved_, run_up=up),
             f"ladder deploy {target} --project {project} {which}")

    @app.command("promote")
    def promote_cmd(
        project: str = typer.Option(..., "--project", "-p", help="Project name."),
        source: str = typer.Option("staging", "--from", help="Stack whose deployed package is promoted."),
        target: str = typer.Option("prod", "--to", help="Stack that receives it."),
        stacks_dir: Optional[Path] = typer.Option(None, "--stacks-dir", file_okay=False,
                                                  help="Directory of Pulumi.<stack>.yaml files (default: stacks/)."),
        up: bool = typer.Option(False, "--up/--no-up", help="Run `pulumi up` on the target stack afterwards."),
    ) -> None:
        """Copy the model package ARN a project runs in one stack (e.g. staging) to another (e.g. prod)."""
        _run(lambda: promote(project, source, target, stacks_dir, run_up=up),
             f"ladder promote --project {project} --from {source} --to {target}")


# What the running command has done so far (for the Ctrl-C message).
_DONE: list[str] = []


def _run(fn, resume: str) -> None:
    _DONE.clear()
    try:
        fn()
    except DeployError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(exc.code) from None
    except KeyboardInterrupt:
        done = "; ".join(_DONE) if _DONE else "nothing was changed (the stack file is as it was)"
        typer.echo(f"interrupted: {done}. To resume, run `{resume}` again (it is idempotent)", err=True)
        raise typer.Exit(130) from None
