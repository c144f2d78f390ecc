"""Sandbox handlers for IAM (part of the handler table in :mod:`.handlers`)."""

from __future__ import annotations

from typing import Any

from .aws import (
    UnmappedInput
)
from .handlers import (
    Ctx, Realised, Request, echo, params_for, physical
)

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
