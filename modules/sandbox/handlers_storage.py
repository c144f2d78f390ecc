"""Sandbox handlers for S3, KMS, ECR and SSM (part of the handler table in :mod:`.handlers`)."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from .aws import (
    Aws, UnmappedInput
)
from .handlers import (
    Ctx, Realised, Request, echo, params_for, physical, tag_list
)

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
