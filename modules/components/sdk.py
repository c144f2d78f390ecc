"""The pulumi-aws / pulumi-aws-native resource classes the components declare, without importing their namespaces.

``aws.iam.Role("r", assume_role_policy=..., opts=...)`` here registers exactly what ``pulumi_aws.iam.Role`` would:
the same type token, Python names translated to Pulumi names with the class's own type metadata (nested objects
too; user maps such as ``tags`` untouched), secret inputs wrapped in ``Output.secret``, required inputs refused
when missing, the class's aliases and additional secret outputs, and the provider version it pins
(``_utilities.get_resource_opts_defaults``). It does so through ``pulumi.CustomResource`` with the facts that
``scripts/gen_aws_sdk.py`` read from the typed classes into ``aws_sdk.json``; ``tests/test_aws_sdk.py`` runs whole
stacks both ways and compares every registration, and fails when the table is stale for the installed packages.

Why (issue 17): a typed class loads its whole namespace's type definitions first (``pulumi_aws.sagemaker``: ~1,300
classes, 0.2 s), which was 40 % of a cold ``ladder plan`` and of every ``pulumi up``. Outputs are the same
attributes (``role.arn``, ``key.key_id``), but untyped: nested output objects come back as dicts with Pulumi
(camelCase) keys instead of typed objects, and integers as floats (the components read only string outputs). A
dict given for an input typed "string or document" (policies) is refused - when it is an Output, only once it
resolves, i.e. at ``pulumi up``, not in a preview; the components pass JSON strings there.

``LADDER_TYPED_AWS=1`` makes every declaration use the typed class instead (what the equivalence test compares;
an escape hatch if a registration ever looks wrong). Top-level helpers (``get_caller_identity_output``,
``pulumi_aws_native.Provider``) are the packages' own: they are cheap and do more (environment defaults).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pulumi

TABLE = Path(__file__).with_name("aws_sdk.json")
PACKAGES = {"aws": "pulumi_aws", "native": "pulumi_aws_native"}


def typed_mode() -> bool:
    return os.environ.get("LADDER_TYPED_AWS", "") not in ("", "0")


@functools.cache
def _table() -> dict:
    return json.loads(TABLE.read_text())


@functools.cache
def _index(shape_key: str) -> dict[str, tuple[str, Any]]:
    """Python and Pulumi names -> (Pulumi name, nested shape) of a nested input type (a dict may use either)."""
    out: dict[str, tuple[str, Any]] = {}
    for pulumi_name, (py_name, shape) in _table()["shapes"][shape_key].items():
        out[pulumi_name] = out[py_name] = (pulumi_name, shape)
    return out


@functools.cache
def _arguments(resource: str) -> dict[str, tuple[str, Any]]:
    """A resource's keyword arguments: Python name -> (Pulumi name, nested shape)."""
    return {py_name: (pulumi_name, shape)
            for pulumi_name, (py_name, shape) in _table()["resources"][resource]["inputs"].items()}


def translate(value: Any, shape: dict | None, where: str) -> Any:
    """``value`` with the keys of its object types in Pulumi names (rpc.serialize_property with type metadata)."""
    if shape is None or value is None:
        return value
    if isinstance(value, pulumi.Output):
        return value.apply(lambda v: translate(v, shape, where))
    if "union" in shape:
        if isinstance(value, dict):
            raise TypeError(f"{where}: pass a JSON string here (a dict would be matched against "
                            f"{shape['union']} by its shape), or set LADDER_TYPED_AWS=1")
        return value
    if "list" in shape:
        return value if not isinstance(value, (list, tuple)) else [translate(v, shape["list"], where) for v in value]
    if "map" in shape:
        return value if not isinstance(value, dict) else {k: translate(v, shape["map"], f"{where}.{k}")
                                                          for k, v in value.items()}
    if not isinstance(value, dict):
        return value
    names = _index(shape["object"])
    out = {}
    for key, item in value.items():
        pulumi_name, inner = names.get(key, (key, None))
        out[pulumi_name] = translate(item, inner, f"{where}.{key}")
    return out


class _Resource(pulumi.CustomResource):
    """A resource registered with the facts of its typed class (see the module docstring)."""

    _sdk_key: str

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
        if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
            raise TypeError(f"{type(self).__name__}: pass the inputs as keyword arguments (an Args object, or options "
                            f"given positionally, need the typed class: LADDER_TYPED_AWS=1)")
        meta = _table()["resources"][self._sdk_key]
        package = PACKAGES[self._sdk_key.split(".", 1)[0]]
        utilities = importlib.import_module(f"{package}._utilities")
        opts = pulumi.ResourceOptions.merge(utilities.get_resource_opts_defaults(), opts)
        if opts.id is not None:  # the typed class then reads the resource's state: not what this class does
            raise TypeError(f"{type(self).__name__}: reading an existing resource (opts.id) needs the typed class")
        names = _arguments(self._sdk_key)
        props: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key not in names:  # as Python refuses an unknown keyword of the typed class
                raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument {key!r}")
            pulumi_name, shape = names[key]
            if value is not None and pulumi_name in meta["secret"]:
                value = pulumi.Output.secret(value)
            props[pulumi_name] = translate(value, shape, f"{type(self).__name__}({resource_name!r}).{key}")
        for pulumi_name in meta["required"]:
            if props.get(pulumi_name) is None and not opts.urn:
                raise TypeError(f"Missing required property '{meta['python'].get(pulumi_name, pulumi_name)}'")
        for pulumi_name in (*meta["inputs"], *meta["outputs"]):
            props.setdefault(pulumi_name, None)  # every property resolves as an attribute, as the typed class's
        if meta["aliases"]:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                aliases=[pulumi.Alias(**a) for a in meta["aliases"]]))
        if meta["secret_outputs"]:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                additional_secret_outputs=list(meta["secret_outputs"])))
        if meta["replace_on_changes"]:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                replace_on_changes=list(meta["replace_on_changes"])))
        _option_names(opts, meta)
        super().__init__(meta["token"], resource_name, props, opts)
        for pulumi_name, py_name in meta["python"].items():  # role.unique_id as well as role.uniqueId
            if pulumi_name in self.__dict__:
                self.__dict__[py_name] = self.__dict__[pulumi_name]


def _option_names(opts: pulumi.ResourceOptions, meta: dict) -> None:
    """Property names in options to Pulumi names, as the runtime does with a typed class's metadata
    (runtime/resource.py _translate_ignore_changes, _translate_replace_on_changes: the Args class's input names;
    _translate_additional_secret_outputs: all the resource's names); for a generic resource it would not."""
    if not (opts.ignore_changes or opts.replace_on_changes or opts.additional_secret_outputs):
        return  # most resources: nothing to translate
    inputs = {py: pulumi_name for pulumi_name, (py, _) in meta["inputs"].items()}
    every = {**{py: pulumi_name for pulumi_name, py in meta["python"].items()}, **inputs}
    if opts.ignore_changes:
        opts.ignore_changes = [inputs.get(k) or k for k in opts.ignore_changes]
    if opts.replace_on_changes:
        opts.replace_on_changes = [inputs.get(k) or k for k in opts.replace_on_changes]
    if opts.additional_secret_outputs:
        opts.additional_secret_outputs = [every.get(k) or k for k in opts.additional_secret_outputs]


@functools.cache
def _table_matches(package: str) -> bool:
    """Whether the table was read from the installed version of ``package`` (else its typed classes are used)."""
    import importlib.metadata

    dist = PACKAGES[package]
    for name, installed in ((dist, importlib.import_module(f"{dist}._utilities").get_version()),
                            ("pulumi", importlib.metadata.version("pulumi"))):  # the SDK's serialization rules
        recorded = _table()["versions"].get(name)
        if installed != recorded:
            sys.stderr.write(f"mlops-ladder: {name} {installed} is installed but {TABLE.name} was read from "
                             f"{recorded}: declaring {dist} resources with the typed classes (correct, slower); to "
                             f"regenerate the table run scripts/gen_aws_sdk.py\n")
            return False
    return True


@functools.cache
def _class(key: str) -> type:
    package, namespace, name = key.split(".")
    if typed_mode() or key not in _table()["resources"] or not _table_matches(package):
        # not in the table (a class the generator has not seen), or read from another version of the package:
        # the typed class, correct if slower
        return getattr(importlib.import_module(f"{PACKAGES[package]}.{namespace}"), name)
    return type(name, (_Resource,), {"_sdk_key": key, "__module__": __name__, "__qualname__": name})


class _Namespace:
    def __init__(self, package: str, namespace: str) -> None:
        self._prefix = f"{package}.{namespace}"

    def __getattr__(self, name: str) -> type:
        if name.startswith("_"):
            raise AttributeError(name)
        return _class(f"{self._prefix}.{name}")


class _Package:
    def __init__(self, package: str) -> None:
        self._package = package

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name[:1].islower() and "_" not in name and not name.startswith("get"):
            return _Namespace(self._package, name)
        return getattr(importlib.import_module(PACKAGES[self._package]), name)  # top-level: the package's own


aws: Any = _Package("aws")
native: Any = _Package("native")
