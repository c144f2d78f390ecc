"""IAM, as far as the sandbox can enforce it: identity policies of the role an actor calls as.

moto evaluates IAM only when authentication is switched on for the whole server, which would make every call of
the provisioning engine need signed admin credentials. Instead the services here evaluate, for the calls the loop
depends on, the identity policies (inline and attached managed) of the role that makes them, with moto's own
statement evaluator (:class:`moto.iam.access_control.IAMPolicyStatement`):

* pipeline jobs act as the ``RoleArn`` of their step (S3 reads of inputs and code, S3 writes of outputs), the
  register step as the pipeline's role (``sagemaker:CreateModelPackage`` on the group);
* requests signed with credentials moto's STS issued (``AssumeRole``/``AssumeRoleWithWebIdentity``, e.g. the CI
  role) are evaluated in :mod:`.gateway` for the operations listed there.

Evaluation follows the IAM policy evaluation logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_evaluation-logic.html) for identity policies: an explicit Deny wins, otherwise an Allow is
needed. Not evaluated: resource policies (bucket, key, group policies), permission boundaries, SCPs, session
policies, and condition keys the caller does not supply (moto evaluates conditions only on supplied values).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


class AccessDenied(PermissionError):
    """The role's identity policies do not allow the action (AWS: AccessDenied / AccessDeniedException)."""

    def __init__(self, principal: str, action: str, resource: str):
        self.principal, self.action, self.resource = principal, action, resource
        super().__init__(f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
                         f"because no identity-based policy allows the {action} action")


@dataclass(frozen=True)
class RoleRef:
    account: str
    name: str
    arn: str

    @classmethod
    def parse(cls, arn: str) -> "RoleRef":
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            raise ValueError(f"not an IAM role ARN: {arn!r}")
        return cls(account=parts[4], name=parts[5].rsplit("/", 1)[-1], arn=arn)


def _backend(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def role_documents(role_arn: str) -> list[Any]:
    """The identity policy documents of a role in moto (inline + attached managed); [] if the role is unknown."""
    ref = RoleRef.parse(role_arn)
    try:
        role = _backend(ref.account).get_role(ref.name)
    except Exception:  # noqa: BLE001 - moto raises its own NoSuchEntity
        raise LookupError(f"role {role_arn} does not exist") from None
    import json

    docs: list[Any] = []
    for doc in role.policies.values():
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.is_default), None)
        if version is not None:
            docs.append(json.loads(version.document) if isinstance(version.document, str) else version.document)
    return docs


def trusts_service(role_arn: str, service: str) -> bool:
    """Whether the role's trust policy lets ``service`` (e.g. sagemaker.amazonaws.com) assume it."""
    import json

    ref = RoleRef.parse(role_arn)
    role = _backend(ref.account).get_role(ref.name)
    doc = role.assume_role_policy_document
    doc = json.loads(doc) if isinstance(doc, str) else doc
    for st in _statements(doc):
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = (st.get("Principal") or {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if "sts:AssumeRole" in actions and service in services:
            return True
    return False


def _statements(doc: Any) -> list[dict[str, Any]]:
    st = (doc or {}).get("Statement", [])
    return [st] if isinstance(st, dict) else list(st)


def decide(documents: list[Any], action: str, resource: str,
           context: Optional[dict[str, str]] = None) -> bool:
    """True when the documents allow ``action`` on ``resource`` (explicit deny wins; default deny)."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    allowed = False
    for doc in documents:
        for st in _statements(doc):
            result = IAMPolicyStatement(st).is_action_permitted(action, resource, None, context)
            effect = st.get("Effect")
            if result == PermissionResult.DENIED and effect == "Deny":
                return False
            # moto reports an Allow whose condition does not hold as DENIED; for an Allow that only means "no".
            if result == PermissionResult.PERMITTED and effect == "Allow":
                allowed = True
    return allowed


def require(role_arn: str, action: str, resource: str, context: Optional[dict[str, str]] = None) -> None:
    """Raise :class:`AccessDenied` unless the role's identity policies allow the action."""
    try:
        docs = role_documents(role_arn)
    except LookupError:
        raise AccessDenied(role_arn, action, resource) from None
    if not decide(docs, action, resource, context):
        ref = RoleRef.parse(role_arn)
        raise AccessDenied(f"arn:aws:sts::{ref.account}:assumed-role/{ref.name}/SageMaker", action, resource)


def assumed_role_of(access_key_id: str) -> Optional[str]:
    """The role ARN behind credentials moto's STS issued (None for anything else, e.g. the sandbox's own keys)."""
    if not access_key_id or not access_key_id.startswith("ASIA"):
        return None
    from moto.sts.models import sts_backends

    for regions in list(sts_backends.values()):
        for backend in list(regions.values()):
            for assumed in list(getattr(backend, "assumed_roles", [])):
                if assumed.access_key_id == access_key_id:
                    return assumed.role_arn
    return None
