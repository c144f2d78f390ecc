"""S3 transfers of the emulated SageMaker containers, as SageMaker makes them (and as the job's role)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from . import iam


class NoObjects(RuntimeError):
    """An S3Prefix input with no object under it; SageMaker fails the job with a ClientError."""


def split(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def download(s3, uri: str, dest: Path, *, role: Optional[str], data_type: str = "S3Prefix",
             what: str = "input") -> list[str]:
    """Copy every object under ``uri`` (S3Prefix: key-prefix match, as SageMaker does) into ``dest``, keeping the
    part of the key after the prefix; S3Object data types copy the one object. Returns the keys copied."""
    bucket, prefix = split(uri)
    if role:
        iam.require(role, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})
    keys: list[str] = []
    if data_type == "S3Object":
        keys = [prefix]
    else:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    if not keys:
        # SageMaker's message for an empty S3Prefix input (CreateProcessingJob/CreateTrainingJob fail with it).
        raise NoObjects(f'ClientError: No S3 objects found under S3 URL "{uri}" given in {what}. Please ensure that '
                        f"the bucket exists in the selected region, that objects exist under that S3 prefix, and "
                        f"that the role has \"s3:ListBucket\" permissions on bucket \"{bucket}\".")
    dest.mkdir(parents=True, exist_ok=True)
    base = prefix if data_type != "S3Object" else prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    for key in keys:
        if role:
            iam.require(role, "s3:GetObject", object_arn(bucket, key))
        rel = key[len(base):].lstrip("/") if key.startswith(base) else key.rsplit("/", 1)[-1]
        if not rel:
            rel = key.rsplit("/", 1)[-1]
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    return keys


def upload_dir(s3, source: Path, uri: str, *, role: Optional[str], kms_key: Optional[str] = None) -> list[str]:
    """Upload every file under ``source`` to ``uri``/<relative path> (EndOfJob upload). Returns the URIs."""
    bucket, prefix = split(uri)
    prefix = prefix.rstrip("/")
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(source).as_posix()}" if prefix else path.relative_to(source).as_posix()
        put_file(s3, path, bucket, key, role=role, kms_key=kms_key)
        written.append(f"s3://{bucket}/{key}")
    return written


def put_file(s3, path: Path, bucket: str, key: str, *, role: Optional[str], kms_key: Optional[str] = None) -> None:
    if role:
        iam.require(role, "s3:PutObject", object_arn(bucket, key))
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
    s3.upload_file(str(path), bucket, key, ExtraArgs=extra or None)


def read_json(s3, uri: str, *, role: Optional[str] = None):
    import json

    bucket, key = split(uri)
    if role:
        iam.require(role, "s3:GetObject", object_arn(bucket, key))
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
