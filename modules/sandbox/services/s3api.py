"""S3 and SSM data-plane calls made with role credentials (CI, jobs' own calls) are held to the role's policies.

The actions are the ones AWS evaluates for each request (https://docs.aws.amazon.com/AmazonS3/latest/API/
API_PutObject.html etc. and the Service Authorization Reference): PutObject/CopyObject -> ``s3:PutObject``,
GetObject/HeadObject -> ``s3:GetObject``, DeleteObject -> ``s3:DeleteObject``, ListObjects(V2) ->
``s3:ListBucket`` on the bucket with the ``s3:prefix`` condition key, SSM GetParameter(s)/GetParametersByPath on the
parameter ARN. Other S3 bucket operations pass unchecked (the platform, not a role, makes them here).
KMS permissions of SSE-KMS writes and reads are not evaluated.
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import parse_qs, unquote


def s3_action(method: str, path: str, query: str) -> Optional[tuple[str, str, dict[str, str]]]:
    """(action, resource ARN, condition values) of a path-style S3 request, or None when not evaluated."""
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    if not bucket:
        return None
    params = parse_qs(query)
    if key:
        if any(k in params for k in ("uploads", "uploadId", "tagging", "acl", "retention", "legal-hold")):
            return None
        action = {"PUT": "s3:PutObject", "POST": None, "GET": "s3:GetObject", "HEAD": "s3:GetObject",
                  "DELETE": "s3:DeleteObject"}.get(method)
        return (action, f"arn:aws:s3:::{bucket}/{key}", {}) if action else None
    if method == "GET" and not (set(params) - {"list-type", "prefix", "encoding-type", "delimiter",
                                               "continuation-token", "max-keys", "start-after", "marker"}):
        return "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": params.get("prefix", [""])[0]}
    return None


def ssm_action(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    arn = f"arn:aws:ssm:{region}:{account}:parameter"
    if operation == "GetParametersByPath":
        return [("ssm:GetParametersByPath", arn + str(params.get("Path", "")).rstrip("/"))]
    if operation == "GetParameter":
        return [("ssm:GetParameter", arn + _slash(params.get("Name", "")))]
    if operation == "GetParameters":
        return [("ssm:GetParameters", arn + _slash(n)) for n in params.get("Names", [])]
    return []


def _slash(name: str) -> str:
    return name if str(name).startswith("/") else f"/{name}"
