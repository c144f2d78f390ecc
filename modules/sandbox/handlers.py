"""The ONE table of resource types the sandbox can realise: ``HANDLERS[type] = Handler(create, delete, ...)``.

A handler's ``create`` turns a resource's Pulumi inputs (camelCase) into AWS API calls made through
:meth:`~modules.sandbox.aws.Aws.call` and returns the id and the outputs pulumi-aws v7 would report
(inputs echoed, plus ``arn``, ``id``-like names, ``keyId``, ``repositoryUrl``...). Values come from moto's
responses where moto emulates the operation, otherwise they are derived the way AWS derives them (the
operation having been validated by botocore and recorded). ``delete`` removes what ``create`` made and
tolerates it being gone already. ``retag`` (optional) applies a tags-only change in place.

Every top-level input is either sent to the API, used by the handler, or listed as Terraform-only
(``IGNORED``); anything else raises :class:`~modules.sandbox.aws.UnmappedInput` instead of being dropped.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .aws import Aws, UnmappedInput, UnmappedType, _norm, input_shape, integral, to_api

# Provider-side inputs with no API counterpart (Terraform bookkeeping).
IGNORED = frozenset({"region", "tagsAll", "__defaults"})

SAGEMAKER_MISSING = ("ResourceNotFound", "does not exist", "Could not find", "not found")


@dataclass
class Ctx:
    """What a handler gets: the AWS clients (moto), the stack's region and the emulated account."""

    aws: Aws
    region: str
    _account: Optional[str] = None

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.aws.account_id()
        return self._account

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


@dataclass(frozen=True)
class Request:
    type: str
    name: str  # Pulumi logical name
    inputs: dict[str, Any]


@dataclass
class Realised:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Handler:
    service: str
    create: Callable[[Ctx, Request], Realised]
    delete: Callable[[Ctx, str, dict[str, Any]], None]  # (ctx, id, outputs)
    retag: Optional[Callable[[Ctx, str, dict[str, Any], dict[str, str], dict[str, str]], None]] = None
    notes: str = ""
    # (ctx, id, old outputs, old inputs, request) -> Realised: an in-place update as the provider makes it, or None
    # when the change needs a replacement (e.g. a renamed endpoint)
    update: Optional[Callable[[Ctx, str, dict[str, Any], dict[str, Any], Request], Optional[Realised]]] = None
    # auto-named resources Pulumi replaces create-before-delete (its default): the new one is created first and
    # the old one deleted at the end of the run; fixed names are deleted first (deleteBeforeReplace)
    create_before_delete: bool = False


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------

def unique_suffix(n: int = 26) -> str:
    """Terraform's PrefixedUniqueId is 26 characters; lowercase hex keeps bucket names valid."""
    return secrets.token_hex(n)[:n]


def physical(req: Request, key: str = "name", prefix_key: Optional[str] = "namePrefix", *,
             lower: bool = False) -> str:
    """The physical name: the input, else prefix + unique suffix, else Pulumi's auto-name (logical-7hex)."""
    value = req.inputs.get(key)
    if isinstance(value, str) and value:
        return value
    if prefix_key and isinstance(req.inputs.get(prefix_key), str):
        return req.inputs[prefix_key] + unique_suffix()
    name = f"{req.name}-{secrets.token_hex(4)[:7]}"
    return name.lower() if lower else name


def params_for(req: Request, service: str, operation: str, inputs: Optional[dict[str, Any]] = None, *,
               rename: Optional[dict[str, str]] = None, ignore: tuple[str, ...] = (),
               nested: Optional[dict[str, str]] = None, extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """API parameters for ``operation`` from the (optionally pre-shaped) inputs, shape-guided (see to_api)."""
    shape = input_shape(service, operation)
    members = {_norm(m): m for m in shape.members}
    rename = rename or {}
    out: dict[str, Any] = {}
    for key, value in (req.inputs if inputs is None else inputs).items():
        if value is None or key in IGNORED or key in ignore:
            continue
        target = rename.get(key) or members.get(_norm(key))
        if target is None or target not in shape.members:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} has no counterpart in "
                                f"{service}:{operation} and the sandbox handler does not map it")
        try:
            out[target] = to_api(value, shape.members[target], key, nested)
        except UnmappedInput as exc:
            raise UnmappedInput(f"{req.type} {req.name!r}: {exc}") from None
    out.update(extra or {})
    return out


def echo(req: Request, **computed: Any) -> dict[str, Any]:
    """Outputs as pulumi-aws reports them: the inputs, tagsAll, plus computed attributes."""
    out = integral(dict(req.inputs))
    if "tags" in req.inputs or "tagsAll" in req.inputs:
        out["tagsAll"] = dict(req.inputs.get("tags") or {})
    out.update(computed)
    return out


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: str(v)} for k, v in (tags or {}).items()]


def changed_tags(old: dict[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    return ({k: v for k, v in new.items() if old.get(k) != v}, [k for k in old if k not in new])


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------------

S3_MISSING = ("NoSuchBucket",)
BUCKET_INLINE = ("accelerationStatus", "acl", "corsRules", "grants", "lifecycleRules", "logging",
                 "objectLockConfiguration", "policy", "replicationConfiguration", "requestPayer",
                 "serverSideEncryptionConfiguration", "versioning", "website")


def s3_bucket_create(ctx: Ctx, req: Request) -> Realised:
    inline = [k for k in BUCKET_INLINE if req.inputs.get(k) not in (None, [], {})]
    if inline:
        raise UnmappedInput(f"{req.type} {req.name!r}: inline bucket settings {inline} are deprecated in pulumi-aws "
                            f"v7 and not emulated; use the separate aws.s3.Bucket* resources")
    name = physical(req, "bucket", "bucketPrefix", lower=True)
    params: dict[str, Any] = {"Bucket": name}
    if ctx.region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    if req.inputs.get("objectLockEnabled"):
        params["ObjectLockEnabledForBucket"] = True
    ctx.aws.call("s3", "CreateBucket", params)
    if req.inputs.get("tags"):
        ctx.aws.call("s3", "PutBucketTagging", {"Bucket": name, "Tagging": {"TagSet": tag_list(req.inputs["tags"])}})
    return Realised(name, echo(req, bucket=name, arn=f"arn:aws:s3:::{name}", region=ctx.region,
                               bucketDomainName=f"{name}.s3.amazonaws.com",
                               bucketRegionalDomainName=f"{name}.s3.{ctx.region}.amazonaws.com",
                               forceDestroy=bool(req.inputs.get("forceDestroy", False))))


def empty_bucket(aws: Aws, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many were removed."""
    from .aws import SandboxError

    # moto mishandles DeleteObjects by version id once versioning is Suspended (what deleting the
    # BucketVersioning resource leaves); the bucket is going away, so turn versioning back on to empty it.
    status = aws.call("s3", "GetBucketVersioning", {"Bucket": bucket}, missing_ok=S3_MISSING)
    if status is None:
        return 0
    if status.get("Status") == "Suspended":
        aws.call("s3", "PutBucketVersioning", {"Bucket": bucket, "VersioningConfiguration": {"Status": "Enabled"}})
    removed, previous = 0, None
    while True:
        page = aws.call("s3", "ListObjectVersions", {"Bucket": bucket, "MaxKeys": 1000}, missing_ok=S3_MISSING,
                        fallback=False)
        if page is None:
            return removed
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if not keys:
            return removed
        if keys == previous:
            raise SandboxError(f"cannot empty bucket {bucket}: deleting {len(keys)} object version(s) had no effect")
        resp = aws.call("s3", "DeleteObjects", {"Bucket": bucket, "Delete": {"Objects": keys, "Quiet": True}},
                        fallback=False)
        errors = (resp or {}).get("Errors") or []
        if errors:
            first = errors[0]
            raise SandboxError(f"cannot empty bucket {bucket}: {len(errors)} object version(s) not deleted "
                               f"({first.get('Code')}: {first.get('Message')} for {first.get('Key')!r})")
        removed += len(keys)
        previous = keys


def s3_bucket_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    empty_bucket(ctx.aws, id_)
    ctx.aws.call("s3", "DeleteBucket", {"Bucket": id_}, missing_ok=S3_MISSING)


def s3_bucket_retag(ctx: Ctx, id_: str, outputs: dict[str, Any], old: dict, new: dict) -> None:
    if new:
        ctx.aws.call("s3", "PutBucketTagging", {"Bucket": id_, "Tagging": {"TagSet": tag_list(new)}})
    else:
        ctx.aws.call("s3", "DeleteBucketTagging", {"Bucket": id_})


def _bucket_sub(operation: str, wrap: Callable[[dict[str, Any]], dict[str, Any]],
                delete_op: str, delete_params: Callable[[str], dict[str, Any]] | None = None,
                retry_on: tuple[str, ...] = ()):
    """A bucket sub-resource (one configuration document per bucket; id = bucket name)."""

    def create(ctx: Ctx, req: Request) -> Realised:
        shaped = wrap(dict(req.inputs))
        ctx.aws.call("s3", operation, params_for(req, "s3", operation, shaped), retry_on=retry_on,
                     retry_for=30.0 if retry_on else 0.0)
        return Realised(req.inputs["bucket"], echo(req))

    def delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
        params = delete_params(id_) if delete_params else {"Bucket": id_}
        ctx.aws.call("s3", delete_op, params, missing_ok=S3_MISSING)

    return create, delete


def _nest(member: str, keys: tuple[str, ...], *, listify: tuple[str, ...] = (),
          rename: Optional[dict[str, str]] = None, drop: tuple[str, ...] = ()):
    """Move ``keys`` of the inputs under ``member`` (the API's wrapper document)."""

    def shape(inputs: dict[str, Any]) -> dict[str, Any]:
        for k in drop:
            inputs.pop(k, None)
        inner = {}
        for k in keys:
            if k in inputs:
                value = inputs.pop(k)
                inner[(rename or {}).get(k, k)] = [value] if k in listify and not isinstance(value, list) else value
        inputs[member] = inner
        return inputs

    return shape


versioning = _bucket_sub(
    "PutBucketVersioning", lambda i: i, "PutBucketVersioning",
    lambda b: {"Bucket": b, "VersioningConfiguration": {"Status": "Suspended"}})
encryption = _bucket_sub(
    "PutBucketEncryption", _nest("serverSideEncryptionConfiguration", ("rules",)), "DeleteBucketEncryption")
public_access_block = _bucket_sub(
    "PutPublicAccessBlock",
    _nest("publicAccessBlockConfiguration",
          ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
          drop=("skipDestroy",)),  # skipDestroy: Terraform-only (keep the block on destroy)
    "DeletePublicAccessBlock")
ownership = _bucket_sub(
    "PutBucketOwnershipControls", _nest("ownershipControls", ("rule",), listify=("rule",), rename={"rule": "rules"}),
    "DeleteBucketOwnershipControls")
def _conditional_denies(policy: str) -> list[str]:
    doc = json.loads(policy)
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return [str(st.get("Sid", "?")) for st in statements if st.get("Effect") == "Deny" and st.get("Condition")]


def _bucket_policy_create(ctx: Ctx, req: Request) -> Realised:
    """moto evaluates bucket policies without their conditions: a TLS-only ``Deny`` conditioned on
    ``aws:SecureTransport=false`` would deny every request. The whole policy is validated against botocore's
    model; moto gets it without the conditional Deny statements (so the Allow statements it can act on, e.g.
    for S3 server access logging, still work), and the warning says so."""
    params = params_for(req, "s3", "PutBucketPolicy", dict(req.inputs))
    denies = _conditional_denies(req.inputs["policy"])
    if not denies:
        ctx.aws.call("s3", "PutBucketPolicy", params)
        return Realised(req.inputs["bucket"], echo(req))
    ctx.aws.warn(f"{req.name}: moto ignores policy conditions, so the conditional Deny statement(s) "
                 f"{', '.join(denies)} would deny every request; the full policy is validated, moto holds it "
                 f"without them")
    ctx.aws.call("s3", "PutBucketPolicy", params, emulate=False)
    doc = json.loads(req.inputs["policy"])
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [st for st in statements if not (st.get("Effect") == "Deny" and st.get("Condition"))]
    if kept:
        ctx.aws.call("s3", "PutBucketPolicy", {**params, "Policy": json.dumps({**doc, "Statement": kept})})
    return Realised(req.inputs["bucket"], echo(req))


def _bucket_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("s3", "DeleteBucketPolicy", {"Bucket": id_}, missing_ok=S3_MISSING)


bucket_policy = (_bucket_policy_create, _bucket_policy_delete)
lifecycle = _bucket_sub(
    "PutBucketLifecycleConfiguration", _nest("lifecycleConfiguration", ("rules",)), "DeleteBucketLifecycle")


def _logging_shape(inputs: dict[str, Any]) -> dict[str, Any]:
    inputs = _nest("loggingEnabled", ("targetBucket", "targetPrefix", "targetGrants", "targetObjectKeyFormat"))(inputs)
    inputs["bucketLoggingStatus"] = {"loggingEnabled": inputs.pop("loggingEnabled")}
    return inputs


# S3 checks that the target bucket lets the logging service write (its bucket policy). A program that does not
# order the logging after that policy races it; the sandbox retries (30 s), reports the missing ordering, and
# if the policy still is not there records the operation as validated, not emulated.
logging_ = _bucket_sub("PutBucketLogging", _logging_shape, "PutBucketLogging",
                       lambda b: {"Bucket": b, "BucketLoggingStatus": {}},
                       retry_on=("InvalidTargetBucketForLogging",))


# ---------------------------------------------------------------------------------------------------
# KMS
# ---------------------------------------------------------------------------------------------------

def kms_key_create(ctx: Ctx, req: Request) -> Realised:
    params = params_for(req, "kms", "CreateKey", rename={"customerMasterKeySpec": "KeySpec"},
                        ignore=("deletionWindowInDays", "enableKeyRotation", "rotationPeriodInDays", "isEnabled"))
    meta = ctx.aws.call("kms", "CreateKey", params)["KeyMetadata"]
    key_id, arn = meta["KeyId"], meta["Arn"]
    if req.inputs.get("enableKeyRotation"):
        rot = {"KeyId": key_id}
        if req.inputs.get("rotationPeriodInDays"):
            rot["RotationPeriodInDays"] = int(req.inputs["rotationPeriodInDays"])
        ctx.aws.call("kms", "EnableKeyRotation", rot)
    if req.inputs.get("isEnabled") is False:
        ctx.aws.call("kms", "DisableKey", {"KeyId": key_id})
    return Realised(key_id, echo(req, keyId=key_id, arn=arn, isEnabled=req.inputs.get("isEnabled", True),
                                 keyUsage=meta.get("KeyUsage"),
                                 customerMasterKeySpec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
                                 multiRegion=bool(meta.get("MultiRegion", False))))


def kms_key_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    window = int(outputs.get("deletionWindowInDays") or 30)
    ctx.aws.call("kms", "ScheduleKeyDeletion", {"KeyId": id_, "PendingWindowInDays": window},
                 missing_ok=("NotFoundException", "KMSInvalidStateException"))


def kms_alias_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    if not name.startswith("alias/"):
        name = "alias/" + name
    target = req.inputs["targetKeyId"]
    ctx.aws.call("kms", "CreateAlias", {"AliasName": name, "TargetKeyId": target})
    key_arn = target if target.startswith("arn:") else ctx.arn("kms", f"key/{target}")
    return Realised(name, echo(req, name=name, arn=ctx.arn("kms", name), targetKeyArn=key_arn))


def kms_alias_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("kms", "DeleteAlias", {"AliasName": id_}, missing_ok=("NotFoundException",))


# ---------------------------------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------------------------------

IAM_MISSING = ("NoSuchEntity",)


def iam_role_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    for k in ("inlinePolicies", "managedPolicyArns"):
        if req.inputs.get(k):
            raise UnmappedInput(f"{req.type} {req.name!r}: {k} is not emulated; use aws.iam.RolePolicy / "
                                f"RolePolicyAttachment")
    params = params_for(req, "iam", "CreateRole", rename={"assumeRolePolicy": "AssumeRolePolicyDocument"},
                        ignore=("name", "namePrefix", "forceDetachPolicies", "inlinePolicies", "managedPolicyArns"),
                        extra={"RoleName": name})
    role = ctx.aws.call("iam", "CreateRole", params)["Role"]
    return Realised(name, echo(req, name=name, arn=role["Arn"], uniqueId=role["RoleId"],
                               createDate=str(role.get("CreateDate", "")), path=role.get("Path", "/")))


def iam_role_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    aws = ctx.aws
    listed = aws.call("iam", "ListRolePolicies", {"RoleName": id_}, missing_ok=IAM_MISSING)
    if listed is None:
        return
    for policy in listed.get("PolicyNames", []):
        aws.call("iam", "DeleteRolePolicy", {"RoleName": id_, "PolicyName": policy}, missing_ok=IAM_MISSING)
    attached = aws.call("iam", "ListAttachedRolePolicies", {"RoleName": id_}, missing_ok=IAM_MISSING) or {}
    for policy in attached.get("AttachedPolicies", []):
        aws.call("iam", "DetachRolePolicy", {"RoleName": id_, "PolicyArn": policy["PolicyArn"]},
                 missing_ok=IAM_MISSING)
    profiles = aws.call("iam", "ListInstanceProfilesForRole", {"RoleName": id_}, missing_ok=IAM_MISSING) or {}
    for profile in profiles.get("InstanceProfiles", []):
        aws.call("iam", "RemoveRoleFromInstanceProfile",
                 {"RoleName": id_, "InstanceProfileName": profile["InstanceProfileName"]}, missing_ok=IAM_MISSING)
    aws.call("iam", "DeleteRole", {"RoleName": id_}, missing_ok=IAM_MISSING)




def iam_role_policy_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    role = req.inputs["role"]
    ctx.aws.call("iam", "PutRolePolicy", {"RoleName": role, "PolicyName": name,
                                          "PolicyDocument": req.inputs["policy"]})
    return Realised(f"{role}:{name}", echo(req, name=name))


def iam_role_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    role, _, name = id_.partition(":")
    ctx.aws.call("iam", "DeleteRolePolicy", {"RoleName": role, "PolicyName": name}, missing_ok=IAM_MISSING)


def iam_oidc_create(ctx: Ctx, req: Request) -> Realised:
    params = params_for(req, "iam", "CreateOpenIDConnectProvider",
                        rename={"clientIdLists": "ClientIDList", "thumbprintLists": "ThumbprintList"})
    arn = ctx.aws.call("iam", "CreateOpenIDConnectProvider", params)["OpenIDConnectProviderArn"]
    return Realised(arn, echo(req, arn=arn))


def iam_oidc_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("iam", "DeleteOpenIDConnectProvider", {"OpenIDConnectProviderArn": id_}, missing_ok=IAM_MISSING)


def iam_policy_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    params = params_for(req, "iam", "CreatePolicy", ignore=("name", "namePrefix", "attachmentCount"),
                        rename={"policy": "PolicyDocument"}, extra={"PolicyName": name})
    policy = ctx.aws.call("iam", "CreatePolicy", params)["Policy"]
    return Realised(policy["Arn"], echo(req, name=name, arn=policy["Arn"], policyId=policy["PolicyId"],
                                        path=policy.get("Path", "/")))


def iam_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    versions = ctx.aws.call("iam", "ListPolicyVersions", {"PolicyArn": id_}, missing_ok=IAM_MISSING)
    if versions is None:
        return
    for v in versions.get("Versions", []):
        if not v.get("IsDefaultVersion"):
            ctx.aws.call("iam", "DeletePolicyVersion", {"PolicyArn": id_, "VersionId": v["VersionId"]},
                         missing_ok=IAM_MISSING)
    ctx.aws.call("iam", "DeletePolicy", {"PolicyArn": id_}, missing_ok=IAM_MISSING)


def iam_attachment_create(ctx: Ctx, req: Request) -> Realised:
    role, arn = req.inputs["role"], req.inputs["policyArn"]
    ctx.aws.call("iam", "AttachRolePolicy", {"RoleName": role, "PolicyArn": arn})
    return Realised(f"{role}/{arn}", echo(req))


def iam_attachment_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("iam", "DetachRolePolicy", {"RoleName": outputs["role"], "PolicyArn": outputs["policyArn"]},
                 missing_ok=IAM_MISSING)


# ---------------------------------------------------------------------------------------------------
# ECR
# ---------------------------------------------------------------------------------------------------

ECR_MISSING = ("RepositoryNotFoundException", "LifecyclePolicyNotFoundException")


def ecr_repository_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None, lower=True)
    shaped = dict(req.inputs)
    enc = shaped.pop("encryptionConfigurations", None)
    if enc:
        shaped["encryptionConfiguration"] = enc[0] if isinstance(enc, list) else enc
    params = params_for(req, "ecr", "CreateRepository", shaped, ignore=("name", "forceDelete"),
                        extra={"repositoryName": name})
    repo = ctx.aws.call("ecr", "CreateRepository", params)["repository"]
    return Realised(name, echo(req, name=name, arn=repo["repositoryArn"], registryId=repo["registryId"],
                               repositoryUrl=repo["repositoryUri"]))


def ecr_repository_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("ecr", "DeleteRepository", {"repositoryName": id_, "force": True}, missing_ok=ECR_MISSING)


def ecr_lifecycle_create(ctx: Ctx, req: Request) -> Realised:
    repo = req.inputs["repository"]
    resp = ctx.aws.call("ecr", "PutLifecyclePolicy", {"repositoryName": repo,
                                                      "lifecyclePolicyText": req.inputs["policy"]})
    return Realised(repo, echo(req, registryId=resp["registryId"]))


def ecr_lifecycle_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("ecr", "DeleteLifecyclePolicy", {"repositoryName": id_}, missing_ok=ECR_MISSING)


# ---------------------------------------------------------------------------------------------------
# SSM
# ---------------------------------------------------------------------------------------------------

def ssm_parameter_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    shaped = dict(req.inputs)
    if "value" not in shaped and "insecureValue" in shaped:
        shaped["value"] = shaped.pop("insecureValue")
    shaped.pop("insecureValue", None)
    params = params_for(req, "ssm", "PutParameter", shaped, ignore=("name", "arn", "overwrite"),
                        extra={"Name": name})
    version = ctx.aws.call("ssm", "PutParameter", params)["Version"]
    arn = ctx.arn("ssm", "parameter" + (name if name.startswith("/") else "/" + name))
    return Realised(name, echo(req, name=name, arn=arn, version=version,
                               tier=req.inputs.get("tier") or "Standard",
                               dataType=req.inputs.get("dataType") or "text"))


def ssm_parameter_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("ssm", "DeleteParameter", {"Name": id_}, missing_ok=("ParameterNotFound",))


# ---------------------------------------------------------------------------------------------------
# SageMaker
# ---------------------------------------------------------------------------------------------------

def _sagemaker(create_op: str, name_member: str, arn_member: str, arn_kind: str, delete_op: str, *,
               name_input: str = "name", rename: Optional[dict[str, str]] = None,
               nested: Optional[dict[str, str]] = None, shape: Optional[Callable[[dict], dict]] = None,
               name_prefix: Optional[str] = None, ignore: tuple[str, ...] = ()):
    """A named SageMaker resource: Create<X>(<X>Name=..., ...) / Delete<X>(<X>Name=...)."""

    def create(ctx: Ctx, req: Request) -> Realised:
        name = physical(req, name_input, name_prefix)
        shaped = shape(dict(req.inputs)) if shape else dict(req.inputs)
        params = params_for(req, "sagemaker", create_op, shaped, rename=rename, nested=nested,
                            ignore=(name_input, *(name_prefix and (name_prefix,) or ()), *ignore),
                            extra={name_member: name})
        resp = ctx.aws.call("sagemaker", create_op, params)
        arn = (resp or {}).get(arn_member) or ctx.arn("sagemaker", f"{arn_kind}/{name}")
        computed = {"arn": arn, name_input: name}
        return Realised(name, echo(req, **computed))

    def delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
        ctx.aws.call("sagemaker", delete_op, {name_member: id_}, missing_ok=SAGEMAKER_MISSING)

    return create, delete


def model_package_group_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    """Packages first (a group with packages cannot be deleted), then the group."""
    token = None
    while True:
        params = {"ModelPackageGroupName": id_, "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = ctx.aws.call("sagemaker", "ListModelPackages", params, missing_ok=SAGEMAKER_MISSING) or {}
        for pkg in page.get("ModelPackageSummaryList", []):
            ctx.aws.call("sagemaker", "DeleteModelPackage", {"ModelPackageName": pkg["ModelPackageArn"]},
                         missing_ok=SAGEMAKER_MISSING)
        token = page.get("NextToken")
        if not token:
            break
    ctx.aws.call("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": id_},
                 missing_ok=SAGEMAKER_MISSING)


def model_package_group_policy_create(ctx: Ctx, req: Request) -> Realised:
    group = req.inputs["modelPackageGroupName"]
    ctx.aws.call("sagemaker", "PutModelPackageGroupPolicy", params_for(req, "sagemaker", "PutModelPackageGroupPolicy"))
    return Realised(group, echo(req))


def model_package_group_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sagemaker", "DeleteModelPackageGroupPolicy", {"ModelPackageGroupName": id_},
                 missing_ok=SAGEMAKER_MISSING)


def pipeline_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["pipelineName"]
    params = params_for(req, "sagemaker", "CreatePipeline", extra={"ClientRequestToken": str(uuid.uuid4())})
    arn = ctx.aws.call("sagemaker", "CreatePipeline", params)["PipelineArn"]
    return Realised(name, echo(req, arn=arn))


def pipeline_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sagemaker", "DeletePipeline", {"PipelineName": id_, "ClientRequestToken": str(uuid.uuid4())},
                 missing_ok=SAGEMAKER_MISSING)


def _endpoint_config_shape(inputs: dict[str, Any]) -> dict[str, Any]:
    variants = inputs.get("productionVariants") or []
    inputs["productionVariants"] = [{"variantName": f"variant-{i + 1}", **v} for i, v in enumerate(variants)]
    return inputs


model = _sagemaker("CreateModel", "ModelName", "ModelArn", "model", "DeleteModel")
endpoint_configuration = _sagemaker(
    "CreateEndpointConfig", "EndpointConfigName", "EndpointConfigArn", "endpoint-config", "DeleteEndpointConfig",
    name_prefix="namePrefix", rename={"kmsKeyArn": "KmsKeyId"}, shape=_endpoint_config_shape)
endpoint = _sagemaker("CreateEndpoint", "EndpointName", "EndpointArn", "endpoint", "DeleteEndpoint")
data_quality_job_definition = _sagemaker(
    "CreateDataQualityJobDefinition", "JobDefinitionName", "JobDefinitionArn", "data-quality-job-definition",
    "DeleteDataQualityJobDefinition")
monitoring_schedule = _sagemaker(
    "CreateMonitoringSchedule", "MonitoringScheduleName", "MonitoringScheduleArn", "monitoring-schedule",
    "DeleteMonitoringSchedule")
model_package_group = _sagemaker(
    "CreateModelPackageGroup", "ModelPackageGroupName", "ModelPackageGroupArn", "model-package-group",
    "DeleteModelPackageGroup", name_input="modelPackageGroupName")


# ---------------------------------------------------------------------------------------------------
# EventBridge Scheduler
# ---------------------------------------------------------------------------------------------------

def schedule_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    group = req.inputs.get("groupName") or "default"
    params = params_for(req, "scheduler", "CreateSchedule", ignore=("name", "namePrefix"),
                        nested={"target.sagemakerPipelineParameters.pipelineParameters": "PipelineParameterList"},
                        extra={"Name": name, "GroupName": group, "ClientToken": str(uuid.uuid4())})
    arn = ctx.aws.call("scheduler", "CreateSchedule", params)["ScheduleArn"]
    return Realised(f"{group}/{name}", echo(req, name=name, groupName=group, arn=arn))


def schedule_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    group, _, name = id_.partition("/")
    ctx.aws.call("scheduler", "DeleteSchedule", {"Name": name, "GroupName": group,
                                                 "ClientToken": str(uuid.uuid4())},
                 missing_ok=("ResourceNotFoundException",))


# ---------------------------------------------------------------------------------------------------
# SNS
# ---------------------------------------------------------------------------------------------------

_FEEDBACK_PREFIX = {"application": "Application", "http": "HTTP", "lambda": "Lambda", "sqs": "SQS",
                    "firehose": "Firehose"}
TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName", "policy": "Policy", "deliveryPolicy": "DeliveryPolicy",
    "kmsMasterKeyId": "KmsMasterKeyId", "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication", "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig", "archivePolicy": "ArchivePolicy", "fifoThroughputScope": "FifoThroughputScope",
    **{f"{p}{outcome}Feedback{what}": f"{P}{outcome}Feedback{what}"
       for p, P in _FEEDBACK_PREFIX.items() for outcome in ("Success", "Failure")
       for what in ("RoleArn", "SampleRate")},
}
SUBSCRIPTION_ATTRIBUTES = {
    "deliveryPolicy": "DeliveryPolicy", "filterPolicy": "FilterPolicy", "filterPolicyScope": "FilterPolicyScope",
    "rawMessageDelivery": "RawMessageDelivery", "redrivePolicy": "RedrivePolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn", "replayPolicy": "ReplayPolicy",
}


def _attributes(req: Request, table: dict[str, str], handled: tuple[str, ...]) -> dict[str, str]:
    attrs = {}
    for key, value in req.inputs.items():
        if value is None or key in IGNORED or key in handled:
            continue
        if key not in table:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} is not mapped to an SNS attribute")
        attrs[table[key]] = value if isinstance(value, str) else _str(value)
    return attrs


def sns_topic_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    if req.inputs.get("fifoTopic") and not name.endswith(".fifo"):
        name += ".fifo"
    attrs = _attributes(req, TOPIC_ATTRIBUTES, ("name", "namePrefix", "tags"))
    params = {"Name": name, "Attributes": attrs or None, "Tags": tag_list(req.inputs.get("tags") or {}) or None}
    arn = ctx.aws.call("sns", "CreateTopic", params)["TopicArn"]
    return Realised(arn, echo(req, name=name, arn=arn, owner=ctx.account))


def sns_topic_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sns", "DeleteTopic", {"TopicArn": id_}, missing_ok=("NotFound",))


def sns_subscription_create(ctx: Ctx, req: Request) -> Realised:
    attrs = _attributes(req, SUBSCRIPTION_ATTRIBUTES,
                        ("topic", "protocol", "endpoint", "endpointAutoConfirms", "confirmationTimeoutInMinutes"))
    params = {"TopicArn": req.inputs["topic"], "Protocol": req.inputs["protocol"],
              "Endpoint": req.inputs.get("endpoint"), "Attributes": attrs or None, "ReturnSubscriptionArn": True}
    arn = ctx.aws.call("sns", "Subscribe", params)["SubscriptionArn"]
    return Realised(arn, echo(req, arn=arn, ownerId=ctx.account, pendingConfirmation=False,
                              confirmationWasAuthenticated=False))


def sns_subscription_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sns", "Unsubscribe", {"SubscriptionArn": id_}, missing_ok=("NotFound",))


def sns_topic_policy_create(ctx: Ctx, req: Request) -> Realised:
    arn = req.inputs["arn"]
    ctx.aws.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": "Policy",
                                               "AttributeValue": req.inputs["policy"]})
    return Realised(arn, echo(req, owner=ctx.account))


def sns_topic_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    """Terraform puts the topic's default policy back (owner-only access)."""
    account = id_.split(":")[4]
    default = {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                   "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
        "Resource": id_, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}
    ctx.aws.call("sns", "SetTopicAttributes", {"TopicArn": id_, "AttributeName": "Policy",
                                               "AttributeValue": json.dumps(default)}, missing_ok=("NotFound",))


# ---------------------------------------------------------------------------------------------------
# EventBridge (aws.cloudwatch.Event*)
# ---------------------------------------------------------------------------------------------------

EVENTS_MISSING = ("ResourceNotFoundException",)


def event_rule_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    shaped = dict(req.inputs)
    enabled = shaped.pop("isEnabled", None)
    if enabled is not None and "state" not in shaped:
        shaped["state"] = "ENABLED" if enabled else "DISABLED"
    params = params_for(req, "events", "PutRule", shaped, ignore=("name", "namePrefix", "forceDestroy"),
                        extra={"Name": name})
    arn = ctx.aws.call("events", "PutRule", params)["RuleArn"]
    bus = req.inputs.get("eventBusName") or "default"
    return Realised(name if bus == "default" else f"{bus}/{name}",
                    echo(req, name=name, arn=arn, eventBusName=bus, state=params.get("State", "ENABLED")))


def event_rule_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    bus, _, name = id_.rpartition("/")
    ctx.aws.call("events", "DeleteRule", {"Name": name, "EventBusName": bus or None, "Force": True},
                 missing_ok=EVENTS_MISSING)


EVENT_TARGET_RENAMES = {
    "targetId": "Id", "sagemakerPipelineTarget": "SageMakerPipelineParameters", "httpTarget": "HttpParameters",
    "ecsTarget": "EcsParameters", "batchTarget": "BatchParameters", "kinesisTarget": "KinesisParameters",
    "sqsTarget": "SqsParameters", "redshiftTarget": "RedshiftDataParameters", "appsyncTarget": "AppSyncParameters",
}
EVENT_TARGET_NESTED = {
    "sagemakerPipelineTarget.pipelineParameterLists": "PipelineParameterList",
    "inputTransformer.inputPaths": "InputPathsMap",
}


def event_target_create(ctx: Ctx, req: Request) -> Realised:
    target_id = req.inputs.get("targetId") or f"{req.name}-{secrets.token_hex(4)[:7]}"
    rule = req.inputs["rule"]
    bus = req.inputs.get("eventBusName")
    shaped = {k: v for k, v in req.inputs.items() if k not in ("rule", "eventBusName", "forceDestroy")}
    shaped["targetId"] = target_id
    shape = input_shape("events", "PutTargets").members["Targets"].member
    members = {_norm(m): m for m in shape.members}
    target: dict[str, Any] = {}
    for key, value in shaped.items():
        if value is None or key in IGNORED:
            continue
        member = EVENT_TARGET_RENAMES.get(key) or members.get(_norm(key))
        if member is None:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} has no counterpart in events:PutTargets")
        target[member] = to_api(value, shape.members[member], key, EVENT_TARGET_NESTED)
    resp = ctx.aws.call("events", "PutTargets", {"Rule": rule, "EventBusName": bus, "Targets": [target]})
    if resp and resp.get("FailedEntryCount"):
        from .aws import SandboxError

        raise SandboxError(f"{req.type} {req.name!r}: events:PutTargets failed: {resp.get('FailedEntries')}")
    id_ = f"{bus}/{rule}/{target_id}" if bus and bus != "default" else f"{rule}-{target_id}"
    return Realised(id_, echo(req, targetId=target_id))


def event_target_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    bus = outputs.get("eventBusName")
    ctx.aws.call("events", "RemoveTargets", {"Rule": outputs["rule"], "EventBusName": bus,
                                             "Ids": [outputs["targetId"]], "Force": True},
                 missing_ok=EVENTS_MISSING)


EVENT_CONNECTION_NESTED = {
    "authParameters.apiKey": "ApiKeyAuthParameters", "authParameters.apiKey.key": "ApiKeyName",
    "authParameters.apiKey.value": "ApiKeyValue", "authParameters.basic": "BasicAuthParameters",
    "authParameters.oauth": "OAuthParameters",
    **{f"authParameters.{where}.{k}": v
       for where in ("oauth.oauthHttpParameters", "invocationHttpParameters")
       for k, v in (("body", "BodyParameters"), ("header", "HeaderParameters"),
                    ("queryString", "QueryStringParameters"))},
}


def event_connection_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    params = params_for(req, "events", "CreateConnection", ignore=("name",), nested=EVENT_CONNECTION_NESTED,
                        extra={"Name": name})
    arn = ctx.aws.call("events", "CreateConnection", params)["ConnectionArn"]
    secret = ctx.arn("secretsmanager", f"secret:events!connection/{name}/{uuid.uuid4()}")
    return Realised(name, echo(req, name=name, arn=arn, secretArn=secret))


def event_connection_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("events", "DeleteConnection", {"Name": id_}, missing_ok=EVENTS_MISSING)


def event_api_destination_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    params = params_for(req, "events", "CreateApiDestination", ignore=("name",), extra={"Name": name})
    arn = ctx.aws.call("events", "CreateApiDestination", params)["ApiDestinationArn"]
    return Realised(name, echo(req, name=name, arn=arn))


def event_api_destination_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("events", "DeleteApiDestination", {"Name": id_}, missing_ok=EVENTS_MISSING)


# ---------------------------------------------------------------------------------------------------
# CloudWatch
# ---------------------------------------------------------------------------------------------------

def _metric_queries(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Terraform nests period/stat/unit inside ``metric``; the API has them on MetricStat."""
    out = []
    for q in queries or []:
        q = dict(q)
        metric = q.pop("metric", None)
        if metric:
            metric = dict(metric)
            stat = {"metric": {k: metric[k] for k in ("metricName", "namespace", "dimensions") if k in metric}}
            for k in ("period", "stat", "unit"):
                if k in metric:
                    stat[k] = metric[k]
            q["metricStat"] = stat
        out.append(q)
    return out


def metric_alarm_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    shaped = dict(req.inputs)
    if "metricQueries" in shaped:
        shaped["metrics"] = _metric_queries(shaped.pop("metricQueries"))
    params = params_for(req, "cloudwatch", "PutMetricAlarm", shaped, ignore=("name",),
                        rename={"evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
                                "okActions": "OKActions"},
                        nested={"metrics.metricStat.metric.dimensions": "Dimensions"},
                        extra={"AlarmName": name})
    ctx.aws.call("cloudwatch", "PutMetricAlarm", params)
    return Realised(name, echo(req, name=name, arn=ctx.arn("cloudwatch", f"alarm:{name}")))


def metric_alarm_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("cloudwatch", "DeleteAlarms", {"AlarmNames": [id_]}, missing_ok=("ResourceNotFound",))


def dashboard_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["dashboardName"]
    ctx.aws.call("cloudwatch", "PutDashboard", params_for(req, "cloudwatch", "PutDashboard"))
    return Realised(name, echo(req, dashboardArn=ctx.arn("cloudwatch", f"dashboard/{name}", region=False)))


def dashboard_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("cloudwatch", "DeleteDashboards", {"DashboardNames": [id_]},
                 missing_ok=("ResourceNotFound", "does not exist"))


def log_group_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    params = params_for(req, "logs", "CreateLogGroup",
                        ignore=("name", "namePrefix", "retentionInDays", "skipDestroy", "deletionProtectionEnabled"),
                        extra={"logGroupName": name})
    ctx.aws.call("logs", "CreateLogGroup", params)
    if req.inputs.get("retentionInDays"):
        ctx.aws.call("logs", "PutRetentionPolicy", {"logGroupName": name,
                                                    "retentionInDays": int(req.inputs["retentionInDays"])})
    if req.inputs.get("deletionProtectionEnabled"):
        ctx.aws.call("logs", "PutLogGroupDeletionProtection", {"logGroupIdentifier": name,
                                                               "deletionProtectionEnabled": True})
    return Realised(name, echo(req, name=name, arn=ctx.arn("logs", f"log-group:{name}"),
                               logGroupClass=req.inputs.get("logGroupClass") or "STANDARD"))


def log_group_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("logs", "DeleteLogGroup", {"logGroupName": id_}, missing_ok=("ResourceNotFoundException",))


# ---------------------------------------------------------------------------------------------------
# Application Auto Scaling
# ---------------------------------------------------------------------------------------------------

AAS_MISSING = ("ObjectNotFoundException",)


def aas_target_create(ctx: Ctx, req: Request) -> Realised:
    params = params_for(req, "application-autoscaling", "RegisterScalableTarget", rename={"roleArn": "RoleARN"})
    resp = ctx.aws.call("application-autoscaling", "RegisterScalableTarget", params) or {}
    rid = req.inputs["resourceId"]
    arn = resp.get("ScalableTargetARN") or ctx.arn("application-autoscaling",
                                                    f"scalable-target/{secrets.token_hex(14)}")
    return Realised(rid, echo(req, arn=arn))


def aas_target_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("application-autoscaling", "DeregisterScalableTarget", {
        "ServiceNamespace": outputs["serviceNamespace"], "ResourceId": id_,
        "ScalableDimension": outputs["scalableDimension"]}, missing_ok=AAS_MISSING)


def aas_policy_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["name"]
    params = params_for(req, "application-autoscaling", "PutScalingPolicy", rename={"name": "PolicyName"})
    resp = ctx.aws.call("application-autoscaling", "PutScalingPolicy", params) or {}
    return Realised(name, echo(req, arn=resp.get("PolicyARN", ""),
                               alarmArns=[a["AlarmARN"] for a in resp.get("Alarms", [])],
                               policyType=req.inputs.get("policyType") or "StepScaling"))


def aas_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("application-autoscaling", "DeleteScalingPolicy", {
        "PolicyName": id_, "ServiceNamespace": outputs["serviceNamespace"], "ResourceId": outputs["resourceId"],
        "ScalableDimension": outputs["scalableDimension"]}, missing_ok=AAS_MISSING)


# ---------------------------------------------------------------------------------------------------
# CodeBuild
# ---------------------------------------------------------------------------------------------------

def codebuild_project_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    visibility = req.inputs.get("projectVisibility")
    if visibility not in (None, "PRIVATE"):
        raise UnmappedInput(f"{req.type} {req.name!r}: projectVisibility={visibility!r} is not emulated")
    params = params_for(req, "codebuild", "CreateProject",
                        rename={"buildTimeout": "timeoutInMinutes", "queuedTimeout": "queuedTimeoutInMinutes"},
                        ignore=("name", "projectVisibility", "resourceAccessRole"), extra={"name": name})
    project = ctx.aws.call("codebuild", "CreateProject", params)["project"]
    return Realised(name, echo(req, name=name, arn=project["arn"], badgeUrl="", projectVisibility="PRIVATE",
                               publicProjectAlias=""))


def codebuild_project_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("codebuild", "DeleteProject", {"name": id_}, missing_ok=("ResourceNotFoundException",))


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------

def _h(service: str, pair: tuple[Callable, Callable], retag=None, notes: str = "") -> Handler:
    return Handler(service, pair[0], pair[1], retag, notes)


def _retag(service: str, tag_op: str, untag_op: str, target: Callable[[str, dict[str, Any]], dict[str, Any]], *,
           tags_key: str = "Tags", keys_key: str = "TagKeys",
           shape: Callable[[dict[str, str]], Any] = tag_list):
    """A tag-only update: ``tag_op`` for added/changed tags, ``untag_op`` for removed keys, on ``target(id, outputs)``
    (each service names its parameters its own way)."""

    def retag(ctx: Ctx, id_: str, outputs: dict[str, Any], old: dict, new: dict) -> None:
        add, remove = changed_tags(old, new)
        if add:
            ctx.aws.call(service, tag_op, {**target(id_, outputs), tags_key: shape(add)})
        if remove:
            ctx.aws.call(service, untag_op, {**target(id_, outputs), keys_key: remove})

    return retag


def _by_arn(key: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda id_, outputs: {key: outputs["arn"]}


def _by_id(key: str, **fixed: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda id_, outputs: {key: id_, **fixed}


iam_role_retag = _retag("iam", "TagRole", "UntagRole", _by_id("RoleName"))
iam_oidc_retag = _retag("iam", "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider",
                        _by_id("OpenIDConnectProviderArn"))
iam_policy_retag = _retag("iam", "TagPolicy", "UntagPolicy", _by_id("PolicyArn"))
kms_key_retag = _retag("kms", "TagResource", "UntagResource", _by_id("KeyId"),
                       shape=lambda tags: tag_list(tags, "TagKey", "TagValue"))
ecr_repository_retag = _retag("ecr", "TagResource", "UntagResource", _by_arn("resourceArn"), tags_key="tags",
                              keys_key="tagKeys")
ssm_parameter_retag = _retag("ssm", "AddTagsToResource", "RemoveTagsFromResource",
                             _by_id("ResourceId", ResourceType="Parameter"))
sagemaker_retag = _retag("sagemaker", "AddTags", "DeleteTags", _by_arn("ResourceArn"))
sns_topic_retag = _retag("sns", "TagResource", "UntagResource", _by_id("ResourceArn"))
events_retag = _retag("events", "TagResource", "UntagResource", _by_arn("ResourceARN"))
cloudwatch_retag = _retag("cloudwatch", "TagResource", "UntagResource", _by_arn("ResourceARN"))
# moto lacks these two operations: a tag change is validated against botocore's model, not a replacement
aas_target_retag = _retag("application-autoscaling", "TagResource", "UntagResource", _by_arn("ResourceARN"),
                         shape=dict)
log_group_retag = _retag("logs", "TagResource", "UntagResource", _by_arn("resourceArn"), tags_key="tags",
                         keys_key="tagKeys", shape=dict)


HANDLERS: dict[str, Handler] = {
    # S3
    "aws:s3/bucket:Bucket": Handler("s3", s3_bucket_create, s3_bucket_delete, s3_bucket_retag,
                                    "bucketPrefix + 26-character unique suffix; delete empties every version"),
    "aws:s3/bucketVersioning:BucketVersioning": _h("s3", versioning, notes="delete suspends versioning"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _h("s3", encryption),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _h("s3", public_access_block),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _h("s3", ownership),
    "aws:s3/bucketPolicy:BucketPolicy": _h("s3", bucket_policy),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _h("s3", lifecycle),
    "aws:s3/bucketLogging:BucketLogging": _h("s3", logging_),
    # KMS
    "aws:kms/key:Key": Handler("kms", kms_key_create, kms_key_delete, kms_key_retag,
                               "delete schedules deletion (the key stays PendingDeletion, as in AWS)"),
    "aws:kms/alias:Alias": Handler("kms", kms_alias_create, kms_alias_delete),
    # IAM
    "aws:iam/role:Role": Handler("iam", iam_role_create, iam_role_delete, iam_role_retag,
                                 "delete removes inline/attached policies first"),
    "aws:iam/rolePolicy:RolePolicy": Handler("iam", iam_role_policy_create, iam_role_policy_delete),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Handler("iam", iam_oidc_create, iam_oidc_delete,
                                                                   iam_oidc_retag),
    "aws:iam/policy:Policy": Handler("iam", iam_policy_create, iam_policy_delete, iam_policy_retag),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Handler("iam", iam_attachment_create,
                                                                 iam_attachment_delete),
    # ECR
    "aws:ecr/repository:Repository": Handler("ecr", ecr_repository_create, ecr_repository_delete,
                                             ecr_repository_retag, "delete forces (removes images)"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Handler("ecr", ecr_lifecycle_create, ecr_lifecycle_delete),
    # SSM
    "aws:ssm/parameter:Parameter": Handler("ssm", ssm_parameter_create, ssm_parameter_delete, ssm_parameter_retag),
    # SageMaker
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": Handler(
        "sagemaker", model_package_group[0], model_package_group_delete, sagemaker_retag,
        "delete lists and deletes the packages first"),
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": Handler(
        "sagemaker", model_package_group_policy_create, model_package_group_policy_delete),
    "aws:sagemaker/pipeline:Pipeline": Handler("sagemaker", pipeline_create, pipeline_delete, sagemaker_retag),
    "aws:sagemaker/model:Model": Handler("sagemaker", *model, sagemaker_retag, create_before_delete=True),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Handler(
        "sagemaker", *endpoint_configuration, sagemaker_retag, create_before_delete=True),
    "aws:sagemaker/endpoint:Endpoint": _h("sagemaker", endpoint, sagemaker_retag),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _h("sagemaker", data_quality_job_definition,
                                                                          sagemaker_retag),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _h("sagemaker", monitoring_schedule, sagemaker_retag),
    # EventBridge Scheduler
    "aws:scheduler/schedule:Schedule": Handler("scheduler", schedule_create, schedule_delete),
    # SNS
    "aws:sns/topic:Topic": Handler("sns", sns_topic_create, sns_topic_delete, sns_topic_retag),
    "aws:sns/topicSubscription:TopicSubscription": Handler("sns", sns_subscription_create, sns_subscription_delete),
    "aws:sns/topicPolicy:TopicPolicy": Handler("sns", sns_topic_policy_create, sns_topic_policy_delete,
                                               notes="delete restores the default topic policy"),
    # EventBridge
    "aws:cloudwatch/eventRule:EventRule": Handler("events", event_rule_create, event_rule_delete, events_retag),
    "aws:cloudwatch/eventTarget:EventTarget": Handler("events", event_target_create, event_target_delete),
    "aws:cloudwatch/eventConnection:EventConnection": Handler("events", event_connection_create,
                                                              event_connection_delete),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": Handler("events", event_api_destination_create,
                                                                      event_api_destination_delete),
    # CloudWatch
    "aws:cloudwatch/metricAlarm:MetricAlarm": Handler("cloudwatch", metric_alarm_create, metric_alarm_delete,
                                                      cloudwatch_retag),
    "aws:cloudwatch/dashboard:Dashboard": Handler("cloudwatch", dashboard_create, dashboard_delete),
    "aws:cloudwatch/logGroup:LogGroup": Handler("logs", log_group_create, log_group_delete, log_group_retag),
    # Application Auto Scaling
    "aws:appautoscaling/target:Target": Handler("application-autoscaling", aas_target_create, aas_target_delete,
                                                aas_target_retag),
    "aws:appautoscaling/policy:Policy": Handler("application-autoscaling", aas_policy_create, aas_policy_delete),
    # CodeBuild
    "aws:codebuild/project:Project": Handler("codebuild", codebuild_project_create, codebuild_project_delete),
}


def _native() -> None:
    from .handlers_native import HANDLERS as native  # aws-native resource types (pulumi-aws-native)

    HANDLERS.update(native)


_native()


def _monitoring_handlers() -> None:
    from .handlers_monitoring import HANDLERS as monitoring  # aws-native Model Monitor job definitions

    HANDLERS.update(monitoring)


_monitoring_handlers()


def handler_for(type_: str, name: str = "") -> Handler:
    try:
        return HANDLERS[type_]
    except KeyError:
        raise UnmappedType(type_, name) from None
