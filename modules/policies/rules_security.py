"""Policy-pack rules for trust and least privilege; standard library only (see rules.py).

Each rule is a :class:`~modules.policies.rules.Rule`; ``RULES`` here is appended to ``rules.RULES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Iterator

from .rules import (IAM_DOC_TYPES, MANDATORY, SECRET_NAME, T_EVENT_RULE, T_ROLE, T_ROLE_POLICY, T_SSM, Rule,
                    _action_matches, _per_type, _sid, actions, allows, as_list, policy_doc, policy_documents,
                    statements)

GITHUB_HOST = "token.actions.githubusercontent.com"


def _conditions(st: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    out = []
    cond = st.get("Condition") or {}
    if isinstance(cond, Mapping):
        for op, block in cond.items():
            if isinstance(block, Mapping):
                for k, v in block.items():
                    out.append((str(op), str(k), [str(x) for x in as_list(v)]))
    return out


def check_github_trust_pinned(props: Mapping[str, Any]) -> Iterator[str]:
    """GitHub OIDC trust admits exactly ``repo:<o>/<r>:ref:refs/heads/<branch>`` or ``...:environment:<env>``."""
    for i, st in enumerate(statements(policy_doc(props.get("assumeRolePolicy")))):
        if not allows(st) or not any(_action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions(st)):
            continue
        subs = [(op, vals) for op, k, vals in _conditions(st) if k == f"{GITHUB_HOST}:sub"]
        for op, vals in subs:
            for v in vals:
                parts = v.split(":", 2)
                pinned = (len(parts) == 3 and parts[0] == "repo" and "*" not in v and "?" not in v
                          and (parts[2].startswith("ref:refs/heads/") or parts[2].startswith("environment:")))
                if not pinned:
                    yield (f"trust {_sid(st, i)} sub {v!r} ({op}) is not pinned to a branch ref or a GitHub "
                           f"environment: any branch or pull request of the repository could assume the role")


def check_create_grant_for_aws_resource(type_: str):
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        for label, doc in policy_documents(type_, props):
            for i, st in enumerate(statements(doc)):
                if not allows(st) or not any(_action_matches(a, "kms:CreateGrant") for a in actions(st)):
                    continue
                ok = any(k.lower() == "kms:grantisforawsresource" and op.startswith("Bool") and vals == ["true"]
                         for op, k, vals in _conditions(st))
                if not ok:
                    yield (f"{label} {_sid(st, i)} allows kms:CreateGrant without Bool kms:GrantIsForAWSResource "
                           f"= true: the role can grant the key to any principal")
    return check


RULES: tuple[Rule, ...] = (
    Rule("LADDER-SEC-001", "GitHub OIDC trust is pinned to a branch ref or a GitHub environment",
         "repo:<o>/<r>:* trusts every branch, pull request and environment: any branch could ship to prod",
         MANDATORY, T_ROLE, check_github_trust_pinned),  # GitHub docs: about-security-hardening-with-openid-connect
    Rule("LADDER-SEC-002", "kms:CreateGrant only with kms:GrantIsForAWSResource",
         "without the condition a role can grant the stack key to anyone",
         MANDATORY, IAM_DOC_TYPES, _per_type(check_create_grant_for_aws_resource)),  # AWS KMS conditions-kms
)


S3_WRITES = ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:RestoreObject",
             "s3:AbortMultipartUpload", "s3:PutObjectTagging", "s3:ReplicateObject")


def _writes_s3(st: Mapping[str, Any]) -> bool:
    return allows(st) and any(_action_matches(a, w) for a in actions(st) for w in S3_WRITES)


SHARED = "shared"  # the platform's own roles (tag mlops:project=shared) are not a project's


def stack_project_role_prefix(resources) -> Iterator[tuple[Any, str]]:
    """A role tagged ``mlops:project=<p>`` writes S3 objects only under a prefix with segment ``<p>``.

    ``<bucket>/<p>/*`` (code, data, pipeline outputs) or a service layout keyed by project such as
    ``<bucket>/capture/<p>/*`` (data capture); a whole bucket or another project's prefix is a violation.
    """
    projects: dict[str, str] = {}
    for r in resources:
        if r.resource_type in T_ROLE:
            tags = r.props.get("tags") or {}
            project = tags.get("mlops:project") if isinstance(tags, Mapping) else None
            if project:
                for key in ("name", "id"):
                    if isinstance(r.props.get(key), str):
                        projects[r.props[key]] = str(project)
    for r in resources:
        if r.resource_type in T_ROLE_POLICY:
            project = projects.get(str(r.props.get("role", "")))
            docs = [("policy", policy_doc(r.props.get("policy")))]
        elif r.resource_type in T_ROLE:
            tags = r.props.get("tags") or {}
            project = tags.get("mlops:project") if isinstance(tags, Mapping) else None
            docs = policy_documents(r.resource_type, r.props)
        else:
            continue
        if not project or project == SHARED:
            continue
        for label, doc in docs:
            for i, st in enumerate(statements(doc)):
                if not _writes_s3(st):
                    continue
                for res in as_list(st.get("Resource")):
                    arn = str(res)
                    key = arn.split(":::", 1)[1] if arn.startswith("arn:") and ":::" in arn else arn
                    bucket, _, path = key.partition("/")
                    fixed = path.split("*", 1)[0].split("?", 1)[0].split("/")[:-1]  # segments before a wildcard
                    if "*" in bucket or "?" in bucket or project not in fixed:
                        yield r, (f"{label} {_sid(st, i)} of a role of project {project!r} allows S3 writes on "
                                  f"{arn!r}, outside <bucket>/{project}/*: it could overwrite another project's "
                                  f"step code or models")


RULES = RULES + (
    Rule("LADDER-SEC-003", "A project's roles write S3 objects only under their project's prefix",
         "one project's CI or jobs must not overwrite another project's step code, data or models",
         MANDATORY, T_ROLE + T_ROLE_POLICY, stack_project_role_prefix, (), "stack"),
)


TOKEN_PATTERN = re.compile(r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16})")
T_CODEBUILD = ("aws:codebuild/project:Project",)
T_CONNECTION = ("aws:cloudwatch/eventConnection:EventConnection",)


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")


def check_no_plain_secret(props: Mapping[str, Any], type_: str = "") -> Iterator[str]:
    """A secret where the value is kept in plain text (tags, descriptions, env vars, inputs), not a secret store.

    EventBridge connection auth parameters are exempt: EventBridge keeps them in Secrets Manager.
    """
    for path, text in _strings(dict(props)):
        if type_ in T_CONNECTION and path.startswith("authParameters"):
            continue
        if TOKEN_PATTERN.search(text):
            yield f"{path} holds what looks like a token in plain text: pass it from secret config or a secret store"
    if type_ in T_CODEBUILD:
        for var in as_list((props.get("environment") or {}).get("environmentVariables")):
            if isinstance(var, Mapping) and SECRET_NAME.search(str(var.get("name", ""))) \
                    and str(var.get("type") or "PLAINTEXT") == "PLAINTEXT":
                yield (f"environment variable {var.get('name')!r} looks like a secret but is PLAINTEXT: use type "
                       f"SECRETS_MANAGER or PARAMETER_STORE")


def _all_types(props: Mapping[str, Any], type_: str = "") -> Iterator[str]:
    return check_no_plain_secret(props, type_)


_all_types.needs_type = True  # type: ignore[attr-defined]

RULES = RULES + (
    Rule("LADDER-SEC-004", "No secret in plain config (inputs, tags, environment variables)",
         "a token in a plain field is printed by previews and kept unencrypted in state and in the service",
         MANDATORY, T_CODEBUILD + T_CONNECTION + T_SSM + T_EVENT_RULE + ("aws:cloudwatch/eventTarget:EventTarget",), _all_types),
)


def check_github_environment_is_own(props: Mapping[str, Any]) -> Iterator[str]:
    """A trust pinned to a GitHub environment names the role's own environment (its ``mlops:environment`` tag).

    The ``sub`` of a job in a GitHub environment is ``repo:<o>/<r>:environment:<name>``: a staging role trusting
    ``environment:prod`` (or a prod role trusting ``environment:staging``, which has no required reviewers) lets the
    other environment's jobs - past or without its protection rules - act on this one.
    """
    own = str((props.get("tags") or {}).get("mlops:environment") or "")
    if not own or own == "shared":
        return
    for i, st in enumerate(statements(policy_doc(props.get("assumeRolePolicy")))):
        if not allows(st) or not any(_action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions(st)):
            continue
        for op, k, vals in _conditions(st):
            if k != f"{GITHUB_HOST}:sub":
                continue
            for v in vals:
                _, sep, env = v.partition(":environment:")
                if sep and env != own:
                    yield (f"trust {_sid(st, i)} sub {v!r} ({op}) trusts the GitHub environment {env!r}, but the role "
                           f"belongs to environment {own!r}: pin it to environment:{own}")


RULES = RULES + (
    Rule("LADDER-SEC-005", "A GitHub-environment trust names the role's own environment",
         "a staging job (no required reviewers) must not assume a prod role, nor a prod job a staging one",
         MANDATORY, T_ROLE, check_github_environment_is_own),  # GitHub docs: example subject claims (environment)
)


PACKAGE_WRITES = ("sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage", "sagemaker:DeleteModelPackage",
                  "sagemaker:CreateModelPackageGroup", "sagemaker:DeleteModelPackageGroup",
                  "sagemaker:PutModelPackageGroupPolicy", "sagemaker:DeleteModelPackageGroupPolicy")
PACKAGE_ARN = re.compile(r"^arn:[^:]+:sagemaker:[^:]*:[^:]*:model-package(?:-group)?/([^/]+)(?:/.*)?$")


def _project_roles(resources) -> dict[str, str]:
    """Role name/id -> project, for roles tagged ``mlops:project`` (the platform's shared roles excluded)."""
    out: dict[str, str] = {}
    for r in resources:
        if r.resource_type in T_ROLE:
            tags = r.props.get("tags") or {}
            project = tags.get("mlops:project") if isinstance(tags, Mapping) else None
            if project and project != SHARED:
                for key in ("name", "id"):
                    if isinstance(r.props.get(key), str):
                        out[r.props[key]] = str(project)
    return out


def _role_docs(resources, projects: dict[str, str]) -> Iterator[tuple[Any, str, str, Any]]:
    """(resource, project, label, document) for every identity document of a project's role."""
    for r in resources:
        if r.resource_type in T_ROLE_POLICY:
            project = projects.get(str(r.props.get("role", "")))
            if project:
                yield r, project, "policy", policy_doc(r.props.get("policy"))
        elif r.resource_type in T_ROLE:
            project = next((p for k, p in projects.items() if k in (r.props.get("name"), r.props.get("id"))), None)
            if project:
                for label, doc in policy_documents(r.resource_type, r.props):
                    if label != "assumeRolePolicy":
                        yield r, project, label, doc


def stack_project_role_own_group(resources) -> Iterator[tuple[Any, str]]:
    """A project's roles register (create, update, delete packages, change the group) only in the project's group
    ``<org>-<env>-<project>``: no wildcard group, no other project's group."""
    for r, project, label, doc in _role_docs(resources, _project_roles(resources)):
        for i, st in enumerate(statements(doc)):
            if not allows(st) or not any(_action_matches(a, w) for a in actions(st) for w in PACKAGE_WRITES):
                continue
            for res in as_list(st.get("Resource")):
                m = PACKAGE_ARN.match(str(res))
                group = m.group(1) if m else None
                if group is None or "*" in group or "?" in group or not group.endswith(f"-{project}"):
                    yield r, (f"{label} {_sid(st, i)} of a role of project {project!r} may change model packages on "
                              f"{res!r}, not only its own group <org>-<env>-{project}: its CI or jobs could register "
                              f"into (or approve in) another project's registry")


RULES = RULES + (
    Rule("LADDER-SEC-006", "A project's roles register model packages only in their project's group",
         "one project's pipeline must not register into, approve in or delete from another project's registry",
         MANDATORY, T_ROLE + T_ROLE_POLICY, stack_project_role_own_group, (), "stack"),
)


T_MPG_POLICY = ("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",)
T_BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
T_KMS_KEY = ("aws:kms/key:Key",)
ACCOUNT_IN = re.compile(r"^(?:arn:[^:]+:iam::)?(\d{12})(?::root)?$")


def _accounts(st: Mapping[str, Any]) -> set[str]:
    principal = st.get("Principal")
    values = as_list(principal.get("AWS")) if isinstance(principal, Mapping) else as_list(principal)
    return {m.group(1) for v in values if (m := ACCOUNT_IN.match(str(v)))}


def stack_shared_registry_readable(resources) -> Iterator[tuple[Any, str]]:
    """A model package group shared with other accounts lets them load what it shares: the artifact bucket policy
    admits each account to ``s3:GetObject`` under a prefix (not the whole bucket) and a key policy admits it to
    ``kms:Decrypt`` through S3 only (``kms:ViaService``). Without them the consumer can describe the package but
    SageMaker cannot download its model (cross-account access needs the resource policy too:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)."""
    bucket_ok: set[str] = set()
    key_ok: set[str] = set()
    key_unscoped: set[str] = set()
    for r in resources:
        if r.resource_type in T_BUCKET_POLICY:
            for st in statements(policy_doc(r.props.get("policy"))):
                if allows(st) and any(_action_matches(a, "s3:GetObject") for a in actions(st)):
                    keys = [str(x).split(":::", 1)[-1] for x in as_list(st.get("Resource"))]
                    if keys and all("/" in k and k.split("/", 1)[1] not in ("", "*") for k in keys):
                        bucket_ok |= _accounts(st)
        elif r.resource_type in T_KMS_KEY:
            for st in statements(policy_doc(r.props.get("policy"))):
                if allows(st) and any(_action_matches(a, "kms:Decrypt") for a in actions(st)):
                    via = any(k.lower() == "kms:viaservice" for _, k, _ in _conditions(st))
                    (key_ok if via else key_unscoped).update(_accounts(st))
    for r in resources:
        if r.resource_type not in T_MPG_POLICY:
            continue
        for st in statements(policy_doc(r.props.get("resourcePolicy"))):
            if not allows(st):
                continue
            for account in sorted(_accounts(st)):
                if account not in bucket_ok:
                    yield r, (f"the registry is shared with {account}, but no artifact-bucket policy lets it read the "
                              f"shared model prefix (s3:GetObject on <bucket>/<project>/pipelines/*): it cannot load "
                              f"the model")
                if account in key_unscoped:
                    yield r, (f"a key policy lets {account} decrypt without kms:ViaService: limit it to "
                              f"s3.<region>.amazonaws.com")
                elif account not in key_ok:
                    yield r, (f"the registry is shared with {account}, but no key policy lets it kms:Decrypt the "
                              f"artefacts (through S3, kms:ViaService): it cannot load the model")


RULES = RULES + (
    Rule("LADDER-SEC-007", "A registry shared with other accounts grants them its artefacts' prefix and key",
         "sharing only the group lets the consumer see the package but not load its model (bucket and key deny)",
         MANDATORY, T_MPG_POLICY, stack_shared_registry_readable, (), "stack"),
)
