"""Regenerate ``modules/components/aws_sdk.json``: what the program needs to know about each pulumi-aws /
pulumi-aws-native resource class it declares, read from those very classes (issue 17).

Why: importing a typed pulumi-aws resource class loads its whole namespace (``pulumi_aws.sagemaker`` defines ~1,300
input and output types at import, 0.2 s), so a cold ``ladder plan`` / ``pulumi up`` spent 40 % of its time importing
type definitions. ``modules/components/sdk.py`` registers the same resources through Pulumi's generic
``CustomResource`` (the legacy, still supported registration path) with the facts recorded here, and
``tests/test_aws_sdk.py`` proves, stack by stack, that every registration (type, name, parent, serialized inputs,
secrets, aliases, provider version) equals the typed class's.

Recorded per resource class (by constructing it under Pulumi's mocks with a recording ``CustomResource.__init__``,
so nothing is registered):
- ``token``: the type token; ``inputs``: Pulumi name -> [Python name, nested shape]; ``outputs``: the remaining
  property names (set to None like the typed class, so they resolve as attributes);
- ``required``: inputs the class refuses to go without; ``secret``: inputs it wraps in ``Output.secret``;
- ``aliases``, ``secret_outputs`` and ``replace_on_changes``: the resource options it merges in (any other is refused).
Nested shapes mirror ``pulumi.runtime.rpc.serialize_property``'s use of type metadata: ``{"object": name}`` (keys
translated by that input type's names), ``{"list": shape}``, ``{"map": shape}`` (user keys kept), ``null`` (no
translation), ``{"union": ...}`` (a string or an object type: sdk.py accepts only
strings there). A class whose ``_internal_init`` does anything else (environment defaults, JSON conversion, a
discriminated union of object types) is refused here, so the generic path never silently differs.

    .venv/bin/python scripts/gen_aws_sdk.py          # rewrite the table
    .venv/bin/python scripts/gen_aws_sdk.py --check  # exit 1 if it is stale (tests/test_aws_sdk.py does this)
"""

from __future__ import annotations

import argparse
import collections.abc as abc
import importlib
import importlib.metadata
import inspect
import json
import re
import sys
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "modules" / "components" / "aws_sdk.json"
COMPONENTS = ROOT / "modules" / "components"
# `aws.<namespace>.<Class>(` and `native.<namespace>.<Class>(` in the components: the classes the program declares
USE = re.compile(r"\b(aws|native)\.([a-z0-9_]+)\.([A-Z][A-Za-z0-9]+)\(")
PACKAGES = {"aws": "pulumi_aws", "native": "pulumi_aws_native"}
SENTINEL = "@@sdk-sentinel@@"


def used_classes() -> list[tuple[str, str, str]]:
    found = set()
    for path in sorted(COMPONENTS.glob("*.py")):
        found |= set(USE.findall(path.read_text()))
    return sorted(found)


class Refused(Exception):
    pass


class _Shapes:
    """Nested input types reachable from the resources, by ``<module>.<class>``."""

    def __init__(self) -> None:
        self.table: dict[str, dict] = {}

    def of(self, typ) -> dict | None:
        import pulumi
        from pulumi import _types
        from pulumi.runtime import rpc

        typ = _types.unwrap_type(typ) if typ is not None else None
        if typ is None or typ is typing.Any:
            return None
        origin = typing.get_origin(typ)
        if typ is list or origin in (list, typing.List, typing.Sequence, abc.Sequence):  # noqa: UP006
            inner = self.of(rpc._get_list_element_type(typ))
            return None if inner is None else {"list": inner}
        if _types.is_input_type(typ):
            return {"object": self.add(typ)}
        if typ is dict or origin in (dict, typing.Dict, abc.Mapping, typing.Mapping):  # noqa: UP006
            args = typing.get_args(typ)
            inner = self.of(args[1]) if len(args) == 2 and args[0] is str else None
            return None if inner is None else {"map": inner}
        if _types._is_union_type(typ) and any(_types.is_input_type(a) for a in typing.get_args(typ)):
            # serialize_property picks a member by a dict value's shape (reduce_discriminated_union); strings, the
            # only values the components pass here (JSON documents), are not translated. sdk.py refuses a dict.
            return {"union": str(typ)}
        del pulumi
        return None

    def add(self, cls: type) -> str:
        key = f"{cls.__module__}.{cls.__name__}"
        if key not in self.table:
            self.table[key] = {}  # placeholder first: recursive types
            self.table[key] = self.props(cls)
        return key

    def props(self, cls: type) -> dict:
        from pulumi import _types

        names = _types.input_type_py_to_pulumi_names(cls)
        types = _types.input_type_types(cls)
        return {pulumi_name: [py, self.of(types.get(pulumi_name))] for py, pulumi_name in sorted(names.items())}


def record(cls: type, kwargs: dict) -> tuple[str, type, dict, object]:
    """Construct ``cls`` with a recording CustomResource.__init__: (token, Args class, the props it built, options)."""
    import pulumi

    seen: dict = {}
    original = pulumi.CustomResource.__init__

    def fake(self, t, name, props=None, opts=None, *args, **kw):
        if any(a is not None for a in args) or any(v is not None for v in kw.values()):
            raise Refused(f"{t}: registers with more than (type, name, props, opts): {args} {kw}")  # package_ref...
        seen.update(token=t, props=props, opts=opts)
        raise _Stop

    pulumi.CustomResource.__init__ = fake
    try:
        cls("sdk-probe", **kwargs)
    except _Stop:
        pass
    finally:
        pulumi.CustomResource.__init__ = original
    return seen["token"], type(seen["props"]), dict(vars(seen["props"])), seen["opts"]


class _Stop(Exception):
    pass


def describe(package: str, namespace: str, name: str, shapes: _Shapes) -> dict:
    import pulumi
    from pulumi import _types

    module = importlib.import_module(f"{PACKAGES[package]}.{namespace}")
    cls = getattr(module, name)
    source = inspect.getsource(cls._internal_init)
    for marker in ("get_env", "to_json", "__props__.__dict__[\"__"):
        if marker in source:
            raise Refused(f"{package}.{namespace}.{name}._internal_init uses {marker!r}")
    params = [p for p in inspect.signature(cls._internal_init).parameters if p not in ("__self__", "resource_name",
                                                                                       "opts", "__props__")]
    required = sorted(set(re.findall(r"Missing required property '(\w+)'", source)))
    token, args_cls, props, opts = record(cls, {p: SENTINEL for p in params})
    py_to_pulumi = _types.input_type_py_to_pulumi_names(args_cls)  # its own Args (FooInitArgs when _inputs has FooArgs)
    secret = []
    for py in params:
        value = props.get(py)
        if isinstance(value, pulumi.Output):
            if f'__props__.__dict__["{py}"] = None if {py} is None else pulumi.Output.secret({py})' not in source:
                raise Refused(f"{name}.{py}: transformed by the class, not only secret-wrapped")
            secret.append(py)
        elif value != SENTINEL:
            raise Refused(f"{name}.{py}: the class does not pass the input through ({value!r})")
    _, _, bare, _ = record(cls, {p: SENTINEL for p in required})
    defaults = {k: v for k, v in bare.items() if v is not None and k not in required}
    if defaults:
        raise Refused(f"{name}: defaults set by the class: {defaults}")
    if set(params) != set(py_to_pulumi):
        raise Refused(f"{name}: inputs of _internal_init and {args_cls.__name__} differ")
    added = {k: v for k, v in vars(opts).items() if v not in (None, [], {})
             and k not in ("version", "plugin_download_url")  # get_resource_opts_defaults: sdk.py calls it too
             and not (k == "hooks" and not any(vars(v).values()))}  # merge() leaves an empty hook binding
    if set(added) - {"aliases", "additional_secret_outputs", "replace_on_changes"}:
        raise Refused(f"{name}: sets resource options {sorted(added)}")
    for alias in opts.aliases or []:
        if not isinstance(alias, pulumi.Alias) or any(
                getattr(alias, f, None) not in (None, ...) for f in ("name", "parent", "parent_urn", "stack", "project")):
            raise Refused(f"{name}: an alias other than a former type ({alias!r})")
    all_names = _types.resource_py_to_pulumi_names(cls)
    outputs = sorted(all_names[k] for k in props if k not in py_to_pulumi)
    return {
        "token": token,
        "inputs": shapes.props(args_cls),
        "outputs": outputs,
        "python": {all_names[k]: k for k in props if all_names.get(k, k) != k},
        "required": sorted(py_to_pulumi[r] for r in required),
        "secret": sorted(py_to_pulumi[s] for s in secret),
        "aliases": [{"type_": a.type_} if isinstance(a, pulumi.Alias) else a for a in (opts.aliases or [])],
        "secret_outputs": list(opts.additional_secret_outputs or []),
        "replace_on_changes": list(opts.replace_on_changes or []),
    }


def build() -> dict:
    import pulumi

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", args.inputs

        def call(self, args):
            return {}

    pulumi.runtime.set_mocks(Mocks(), project="sdk", stack="sdk", preview=False)
    shapes = _Shapes()
    resources = {f"{p}.{ns}.{name}": describe(p, ns, name, shapes) for p, ns, name in used_classes()}
    return {
        "generated_by": "scripts/gen_aws_sdk.py",
        "versions": {dist: importlib.metadata.version(dist) for dist in ("pulumi", "pulumi_aws", "pulumi_aws_native")},
        "resources": resources,
        "shapes": dict(sorted(shapes.table.items())),
    }


def render(table: dict) -> str:
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed table differs from a fresh one")
    args = ap.parse_args()
    try:
        text = render(build())
    except Refused as err:
        print(f"gen_aws_sdk: refused: {err}; declare this resource with its typed class instead", file=sys.stderr)
        return 2
    if args.check:
        if not TABLE.is_file() or TABLE.read_text() != text:
            print(f"{TABLE.relative_to(ROOT)} is stale: run .venv/bin/python scripts/gen_aws_sdk.py", file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(text)
    print(f"wrote {TABLE.relative_to(ROOT)} ({len(json.loads(text)['resources'])} resource classes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
