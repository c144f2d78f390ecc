"""Stack rules: joins over the whole graph (props are outputs) (part of the rule table in :mod:`.rules`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Iterator, Optional

from .rules import (
    T_BUCKET, T_BUCKET_POLICY, T_DQ_JOB, T_ECR, T_ECR_LIFECYCLE, T_ENDPOINT, T_LIFECYCLE, T_LOGGING,
    T_MONITORING_SCHEDULE, T_PAB, T_SSE, T_VERSIONING, allows, as_list, at_least, env_of, get, policy_doc,
    principals, statements, wildcard_principal
)

# ---------------------------------------------------------------------------------------------------
# Stack rules (joins over the whole graph; props are outputs)
# ---------------------------------------------------------------------------------------------------

def of_type(resources: Sequence[Any], types: tuple[str, ...]) -> list[Any]:
    return [r for r in resources if r.resource_type in types]


def _dep_urns(res: Any, prop: str) -> set[str]:
    deps = getattr(res, "property_dependencies", None) or {}
    return {getattr(d, "urn", d) for d in (deps.get(prop) or [])}


def refers(companion: Any, prop: str, target: Any, target_key: Any) -> bool:
    """Does ``companion``'s ``prop`` point at ``target`` (by property dependency, else by value)?"""
    deps = _dep_urns(companion, prop)
    if deps:
        return target.urn in deps
    value = get(companion.props, prop)
    return target_key is not None and value is not None and str(value) == str(target_key)


def bucket_key(bucket: Any) -> Any:
    return get(bucket.props, "bucket") or get(bucket.props, "id")


def companions(resources: Sequence[Any], bucket: Any, types: tuple[str, ...], prop: str = "bucket") -> list[Any]:
    key = bucket_key(bucket)
    return [c for c in of_type(resources, types) if refers(c, prop, bucket, key)]


def log_target_buckets(resources: Sequence[Any]) -> set[str]:
    """Buckets that receive S3 server access logs (they must use SSE-S3 and do not log themselves)."""
    out = set()
    for bucket in of_type(resources, T_BUCKET):
        if companions(resources, bucket, T_LOGGING, prop="targetBucket"):
            out.add(bucket.urn)
            continue
        for pol in companions(resources, bucket, T_BUCKET_POLICY):
            for st in statements(policy_doc(get(pol.props, "policy"))):
                if allows(st) and "logging.s3.amazonaws.com" in principals(st):
                    out.add(bucket.urn)
    return out


def stack_bucket_pab(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for b in of_type(resources, T_BUCKET):
        if not companions(resources, b, T_PAB):
            yield b, "no BucketPublicAccessBlock for this bucket"


def stack_bucket_versioning(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for b in of_type(resources, T_BUCKET):
        found = companions(resources, b, T_VERSIONING)
        if not any(str(get(v.props, "versioningConfiguration", "status", default="")) == "Enabled" for v in found):
            yield b, "versioning is not Enabled (no BucketVersioning with status Enabled)"


def _sse_algorithms(resources: Sequence[Any], bucket: Any) -> list[str]:
    out = []
    for sse in companions(resources, bucket, T_SSE):
        for rule in as_list(get(sse.props, "rules")):
            algo = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            if algo:
                out.append(str(algo))
    return out


def stack_bucket_sse(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for b in of_type(resources, T_BUCKET):
        if not _sse_algorithms(resources, b):
            yield b, "no default encryption (BucketServerSideEncryptionConfiguration with an sseAlgorithm)"


def stack_bucket_kms(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    log_targets = log_target_buckets(resources)
    for b in of_type(resources, T_BUCKET):
        if b.urn in log_targets:
            continue  # S3 server access logs can only be delivered to SSE-S3 buckets
        algos = _sse_algorithms(resources, b)
        if algos and not any(a.startswith("aws:kms") for a in algos):
            yield b, f"default encryption is {', '.join(algos)}; data buckets use SSE-KMS with the stack's key"


def _denies_insecure_transport(st: Mapping[str, Any]) -> bool:
    if str(st.get("Effect", "")).lower() != "deny" or not wildcard_principal(st):
        return False
    cond = st.get("Condition")
    if not isinstance(cond, Mapping):
        return False
    for op, block in cond.items():
        if isinstance(block, Mapping):
            for k, v in block.items():
                if str(k).lower() == "aws:securetransport" and [str(x).lower() for x in as_list(v)] == ["false"]:
                    return str(op).lower().startswith("bool")
    return False


def stack_bucket_tls(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for b in of_type(resources, T_BUCKET):
        ok = any(_denies_insecure_transport(st)
                 for pol in companions(resources, b, T_BUCKET_POLICY)
                 for st in statements(policy_doc(get(pol.props, "policy"))))
        if not ok:
            yield b, "no bucket policy statement denies requests with aws:SecureTransport = false"


def stack_bucket_lifecycle(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for b in of_type(resources, T_BUCKET):
        found = companions(resources, b, T_LIFECYCLE)
        if not any(str(get(r, "status", default="")) == "Enabled"
                   for lc in found for r in as_list(get(lc.props, "rules"))):
            yield b, "no enabled lifecycle rule (incomplete uploads and old versions pile up)"


def stack_bucket_logging(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    log_targets = log_target_buckets(resources)
    for b in of_type(resources, T_BUCKET):
        if b.urn not in log_targets and not companions(resources, b, T_LOGGING):
            yield b, "no server access logging (BucketLogging) for this bucket"


def stack_ecr_lifecycle(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for repo in of_type(resources, T_ECR):
        key = get(repo.props, "name")
        if not [p for p in of_type(resources, T_ECR_LIFECYCLE) if refers(p, "repository", repo, key)]:
            yield repo, "no ECR lifecycle policy: untagged and old images are kept (and paid for) forever"


def _endpoint_name_of_job(job: Any) -> Optional[str]:
    return get(job.props, "dataQualityJobInput", "endpointInput", "endpointName")


def stack_prod_endpoint_monitoring(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    jobs = of_type(resources, T_DQ_JOB)
    schedules = of_type(resources, T_MONITORING_SCHEDULE)
    for ep in of_type(resources, T_ENDPOINT):
        if env_of(ep.props) not in (None, "prod") or not at_least(ep.props, 4):
            continue
        ep_name = get(ep.props, "name") or get(ep.props, "endpointName")
        ep_jobs = [j for j in jobs if (ep_name is not None and _endpoint_name_of_job(j) == ep_name)
                   or ep.urn in _dep_urns(j, "dataQualityJobInput")]
        job_names = {get(j.props, "name") for j in ep_jobs} - {None}
        job_urns = {j.urn for j in ep_jobs}
        monitored = False
        for s in schedules:
            cfg = get(s.props, "monitoringScheduleConfig")
            if get(cfg, "monitoringJobDefinitionName") in job_names or \
                    _dep_urns(s, "monitoringScheduleConfig") & job_urns:
                monitored = True
            inline = get(cfg, "monitoringJobDefinition", "monitoringInputs")
            if any(get(i, "endpointInput", "endpointName") == ep_name for i in as_list(inline)):
                monitored = True
        if not monitored:
            yield ep, (f"prod endpoint {ep_name or ep.name} at level 4 has no Model Monitor schedule "
                       f"(MonitoringSchedule -> job definition -> this endpoint): drift goes unseen")
