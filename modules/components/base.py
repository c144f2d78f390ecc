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
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda pa: f"arn:{pa[0]}:{service}:{self.region if region else ''}:{pa[1] if account else ''}:{resource}")


def context_for(spec: StackSpec) -> Context:
    ident = aws.get_caller_identity_output()
    part = aws.get_partition_output()
    return Context(spec=spec, account_id=ident.account_id, partition=part.partition)


def policy_json(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy document from statements that may hold Outputs; resolved and serialized deterministically."""
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": statements}).apply(
        lambda doc: json.dumps(doc, sort_keys=True))


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)
