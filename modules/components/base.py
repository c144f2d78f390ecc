"""Shared helpers for components: context (naming, tags, account), policy documents."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..naming import Naming, tags as make_tags
from ..spec import StackSpec


@dataclass(frozen=True)
class Context:
    """What every component needs to name, tag and scope its resources."""

    spec: StackSpec
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    _native: dict[str, pulumi.ProviderResource] = field(default_factory=dict, compare=False, repr=False)
    _outputs: dict[str, pulumi.Output] = field(default_factory=dict, compare=False, repr=False)

    def native_provider(self) -> pulumi.ProviderResource:
        """The explicit ``aws-native`` provider of this program (created on first use, same region as ``aws``).

        pulumi-aws-native is used only where pulumi-aws has no resource (DESIGN 6b): the endpoint's
        ``RetainAllVariantProperties`` update and the model-quality/bias/explainability job definitions. An explicit
        provider takes the spec's region, so no ``aws-native:region`` stack config is needed for ``pulumi up``.
        """
        if "provider" not in self._native:
            import pulumi_aws_native as aws_native  # only stacks that use it pay its import

            self._native["provider"] = aws_native.Provider("aws-native", region=self.region)
        return self._native["provider"]

    @property
    def naming(self) -> Naming:
        return self.spec.naming

    @property
    def region(self) -> str:
        return self.spec.region

    def tags(self, project: str | None = None, component: str | None = None) -> dict[str, str]:
        return make_tags(environment=self.spec.environment, maturity=self.spec.maturity, owner=self.spec.owner,
                         project=project, component=component)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> pulumi.Output[str]:
        """``arn:<partition>:<service>:<region>:<account>:<resource>`` from the caller's identity."""
        return self._identity().apply(
            lambda pa: f"arn:{pa[0]}:{service}:{self.region if region else ''}:{pa[1] if account else ''}:{resource}")

    def _identity(self) -> pulumi.Output[list]:
        """(partition, account id), one Output for every ARN of the program (not one per ARN)."""
        if "identity" not in self._outputs:
            self._outputs["identity"] = pulumi.Output.all(self.partition, self.account_id)
        return self._outputs["identity"]


def context_for(spec: StackSpec) -> Context:
    ident = aws.get_caller_identity_output()
    part = aws.get_partition_output()
    return Context(spec=spec, account_id=ident.account_id, partition=part.partition)


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document from statements that may hold Outputs; resolved and serialized deterministically.

    The Outputs in the document are gathered by one ``Output.all`` (same value, dependencies, secrecy and
    unknowns as ``Output.from_input(document)``, which lifts every nested dict and list into Outputs of its own:
    a tenth of the tasks of a 100-project plan, all left for the garbage collector).
    """
    leaves: list[pulumi.Output] = []
    skeleton = _hollow({"Version": "2012-10-17", "Statement": statements}, leaves)
    return pulumi.Output.all(*leaves).apply(lambda values: json.dumps(_fill(skeleton, values), sort_keys=True))


class _Leaf(int):
    """Where the n-th Output of a document goes."""


def _hollow(value: Any, leaves: list[pulumi.Output]) -> Any:
    if isinstance(value, pulumi.Output):
        leaves.append(value)
        return _Leaf(len(leaves) - 1)
    if isinstance(value, dict):
        return {k: _hollow(v, leaves) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_hollow(v, leaves) for v in value]
    return value


def _fill(value: Any, values: list[Any]) -> Any:
    if isinstance(value, _Leaf):
        return values[value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)
