"""Validators that match what AWS (and GitHub) accept, for the stack spec (``modules/spec.py``).

Each raises ``ValueError`` with a message that says what is allowed; the spec turns it into a
:class:`~modules.spec.Problem` at the key path. Sources, one per rule:

* schedules: EventBridge Scheduler schedule types (rate/cron fields, ranges, names, ``?`` rules)
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html and the cron reference it shares
  with EventBridge https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html
* instance types: botocore's SageMaker service model, the enum of the member each use is sent as
  (CreateTrainingJob ResourceConfig.InstanceType, CreateEndpointConfig ProductionVariant.InstanceType,
  CreateProcessingJob / monitoring ClusterConfig.InstanceType)
* regions and partitions: botocore's endpoint data (the regions it knows SageMaker in, per partition)
* tag values: the IAM/SageMaker ``TagValue`` shape: 0-256 of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``
* model package ARNs: ``ModelPackageArn`` / ``EntityName`` shapes (group 1-63 ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``)
* S3 URIs: bucket naming rules https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  and object keys (1-1024 bytes of UTF-8) https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
* GitHub: user/organization names (1-39 alphanumerics or single hyphens, not at either end) and repository names
  (1-100 of ``A-Za-z0-9._-``, not ``.``/``..``), as github.com refuses them at creation
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from typing import Any, Optional

# Pulumi stack names: letters, digits, '-', '_' and '.' (pulumi stack init refuses others).
STACK_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

MAX_SHOWN = 80


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to a readable length (a 10 MB value is not repeated in a message)."""
    text = repr(value) if not isinstance(value, str) or len(value) <= limit * 4 else repr(value[:limit * 4])
    if len(text) > limit:
        return f"{text[:limit]}... ({len(value) if isinstance(value, (str, bytes, list, dict)) else len(text)} " \
               f"{'characters' if isinstance(value, str) else 'long'})"
    return text


# ---------------------------------------------------------------------------------------------------
# EventBridge Scheduler expressions
# ---------------------------------------------------------------------------------------------------

RATE_RE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, low, high, names (value 1 for the first), extra single-character wildcards allowed
CRON_FIELDS = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, MONTHS, ""),
    ("day-of-week", 1, 7, DAYS, "?L#"),
    ("year", 1970, 2199, (), ""),
)
WILDCARDS = {"minutes": ", - * /", "hours": ", - * /", "day-of-month": ", - * ? / L W", "month": ", - * /",
             "day-of-week": ", - * ? L #", "year": ", - * /"}


def validate_schedule(expr: str) -> str:
    """EventBridge Scheduler ``rate()`` / ``cron()`` expressions (see the module docstring for the rules)."""
    if not isinstance(expr, str):
        raise ValueError(f"{shown(expr)} is not a schedule expression (a string)")
    expr = expr.strip()
    m = RATE_RE.match(expr)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if value < 1:
            raise ValueError(f"{shown(expr)}: the rate value must be a positive whole number; allowed: "
                             f"rate(<n> minutes|hours|days), n >= 1")
        if (value == 1) != (not unit.endswith("s")):
            want = unit.rstrip("s") if value == 1 else unit.rstrip("s") + "s"
            raise ValueError(f"{shown(expr)}: write 'rate({value} {want})' (singular unit for 1, plural otherwise)")
        return expr
    if expr.startswith("cron(") and expr.endswith(")"):
        fields = expr[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"{shown(expr)}: cron() needs 6 fields (minutes hours day-of-month month day-of-week "
                             f"year), got {len(fields)}")
        for spec, value in zip(CRON_FIELDS, fields, strict=True):
            problem = _cron_field_problem(spec, value)
            if problem:
                name, low, high, names, _ = spec
                allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
                raise ValueError(f"{shown(expr)}: cron field {name} {shown(value, 40)}: {problem}; allowed: "
                                 f"{allowed} with wildcards {WILDCARDS[name]}")
        dom, dow = fields[2], fields[4]
        if (dom == "?") == (dow == "?"):
            raise ValueError(f"{shown(expr)}: exactly one of day-of-month and day-of-week must be '?' (a value or * "
                             f"in one needs ? in the other)")
        if "#" in dow and "," in dow:
            raise ValueError(f"{shown(expr)}: with '#' the day-of-week field holds one expression only "
                             f"(e.g. 3#2, not 3#1,6#3)")
        return expr
    raise ValueError(f"{shown(expr)} is not a schedule; allowed: 'rate(<n> minutes|hours|days)' (singular for 1) or "
                     f"'cron(<min> <hour> <day-of-month> <month> <day-of-week> <year>)'")


def _cron_value(token: str, low: int, high: int, names: tuple[str, ...]) -> Optional[int]:
    if token.isdigit() and len(token) <= 4:
        number = int(token)
        return number if low <= number <= high else None
    if names and token.upper() in names:
        return names.index(token.upper()) + 1
    return None


def _cron_field_problem(spec: tuple, value: str) -> Optional[str]:
    name, low, high, names, extra = spec
    for part in value.split(","):
        if not part:
            return "empty list item"
        if part in ("*", "?") and (part == "*" or "?" in extra):
            if value != part:
                return f"'{part}' cannot be combined with other values"
            continue
        if part == "L" and "L" in extra:
            continue
        base, _, step = part.partition("/")
        if step:
            if "/" not in WILDCARDS[name] or not step.isdigit() or not 1 <= int(step) <= max(high - low + 1, 1) * 10:
                return f"increment {shown(part, 20)} must be <start>/<positive number>"
            if base == "*":
                continue
        if name == "day-of-month" and re.fullmatch(r"\d{1,2}W|LW", base) and not step:
            if base != "LW" and _cron_value(base[:-1], low, high, names) is None:
                return f"{base!r} is out of range {low}-{high}"
            continue
        if name == "day-of-week" and "#" in base and not step:
            day, _, nth = base.partition("#")
            if _cron_value(day, low, high, names) is None or not (nth.isdigit() and 1 <= int(nth) <= 5):
                return f"{base!r}: use <day 1-7 or SUN-SAT>#<1-5>"
            continue
        if name == "day-of-week" and base.endswith("L") and len(base) > 1 and not step:
            if _cron_value(base[:-1], low, high, names) is None:
                return f"{base!r}: use <day 1-7 or SUN-SAT>L"
            continue
        bounds = base.split("-")
        if len(bounds) > 2 or not all(bounds):
            return f"{shown(part, 20)} is not a value, range or increment"
        for b in bounds:
            if _cron_value(b, low, high, names) is None:
                what = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
                return f"{shown(b, 20)} is not in {what}"
    return None


# ---------------------------------------------------------------------------------------------------
# botocore: instance types per use, regions and partitions
# ---------------------------------------------------------------------------------------------------

INSTANCE_USES = {
    # use -> (botocore shape, where it is sent)
    "training": ("TrainingInstanceType", "CreateTrainingJob ResourceConfig.InstanceType"),
    "endpoint": ("ProductionVariantInstanceType", "CreateEndpointConfig ProductionVariants[].InstanceType"),
    "processing": ("ProcessingInstanceType", "CreateProcessingJob / monitoring ClusterConfig.InstanceType"),
}


@functools.lru_cache(maxsize=None)
def instance_types(use: str) -> frozenset[str]:
    """The instance types botocore's SageMaker model allows for ``use`` (training | endpoint | processing);
    read through modules/botocore_facts.py (computed once per botocore version)."""
    from .botocore_facts import facts

    return frozenset(facts()["instance_types"][use])


def validate_instance_type(value: str, use: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not an instance type (a string such as ml.m5.xlarge)")
    allowed = instance_types(use)
    if value in allowed:
        return value
    shape, where = INSTANCE_USES[use]
    other = [u for u in INSTANCE_USES if u != use and value in instance_types(u)]
    close = difflib.get_close_matches(value, sorted(allowed), n=3, cutoff=0.75)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    kind = f" (it is only a {' / '.join(other)} instance type)" if other else ""
    families = sorted({t.split(".")[1] for t in allowed})
    example = {"training": "ml.m5.xlarge", "endpoint": "ml.m5.large", "processing": "ml.m5.large"}[use]
    raise ValueError(f"{shown(value)} is not a SageMaker {use} instance type{kind}{hint} expected ml.<family>.<size>, "
                     f"e.g. {example}: one of the {len(allowed)} values of botocore's {shape} ({where}), families "
                     f"{', '.join(families[:12])}...")


@functools.lru_cache(maxsize=None)
def regions() -> dict[str, str]:
    """region -> partition, for every region botocore knows SageMaker in (modules/botocore_facts.py)."""
    from .botocore_facts import facts

    return dict(facts()["regions"])


def partition_of(region: str) -> Optional[str]:
    return regions().get(region)


def region_problem(region: Any) -> Optional[str]:
    if not isinstance(region, str) or region not in regions():
        close = difflib.get_close_matches(str(region)[:40], sorted(regions()), n=1, cutoff=0.7)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return (f"{shown(region)} is not an AWS region botocore knows SageMaker in; {hint}allowed: "
                f"{', '.join(sorted(regions()))}")
    return None


ARN_RE = re.compile(r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                    r"(?P<account>\d{12}|aws|):(?P<resource>.+)$")
GROUP_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def validate_model_package_arn(value: str, region: Optional[str]) -> str:
    """``arn:<partition>:sagemaker:<stack region>:<account>:model-package/<group>/<version>``."""
    example = f"arn:aws:sagemaker:{region or 'us-east-1'}:111122223333:model-package/churn/3"
    m = ARN_RE.match(value) if isinstance(value, str) else None
    if not m or m["service"] != "sagemaker" or not m["resource"].startswith("model-package/") or not m["account"]:
        raise ValueError(f"{shown(value)} is not a model package ARN; expected arn:<partition>:sagemaker:<region>:"
                         f"<account>:model-package/<group>/<version>, e.g. {example}")
    parts = m["resource"].split("/")[1:]
    if len(parts) not in (1, 2) or not parts[0]:
        raise ValueError(f"{shown(value)}: expected model-package/<group>/<version> (or model-package/<name>)")
    if not GROUP_RE.match(parts[0]):
        raise ValueError(f"{shown(value)}: model package group {shown(parts[0], 70)} is not allowed: 1-63 letters, "
                         f"digits and hyphens, starting and ending with a letter or digit")
    if len(parts) == 2 and not (parts[1].isdigit() and len(parts[1]) <= 10 and int(parts[1]) >= 1):
        raise ValueError(f"{shown(value)}: the version {shown(parts[1], 20)} must be a positive whole number")
    _same_partition(value, m["partition"], region)
    if region is not None and m["region"] != region:
        raise ValueError(f"{shown(value)} is in region {m['region'] or '(none)'}; an endpoint in {region} can only "
                         f"use a model package of {region} (copy or register it there)")
    return value


def validate_oidc_provider_arn(value: str, region: Optional[str]) -> str:
    m = ARN_RE.match(value) if isinstance(value, str) else None
    if (not m or m["service"] != "iam" or m["region"] or not m["account"].isdigit()
            or m["resource"] != "oidc-provider/token.actions.githubusercontent.com"):
        raise ValueError(f"{shown(value)} is not the ARN of a GitHub OIDC provider; expected arn:<partition>:iam::"
                         f"<account>:oidc-provider/token.actions.githubusercontent.com")
    _same_partition(value, m["partition"], region)
    return value


def _same_partition(value: str, partition: str, region: Optional[str]) -> None:
    known = sorted(set(regions().values()))
    if partition not in known:
        raise ValueError(f"{shown(value)}: partition {shown(partition, 20)} is unknown; allowed: {', '.join(known)}")
    want = partition_of(region) if region else None
    if want is not None and partition != want:
        raise ValueError(f"{shown(value)} is in partition {partition}, but region {region} is in {want}; ARNs "
                         f"must be in the stack's partition (arn:{want}:...)")


# ---------------------------------------------------------------------------------------------------
# Tags, GitHub names, S3 URIs, numbers
# ---------------------------------------------------------------------------------------------------

TAG_VALUE_EXTRA = frozenset("_.:/=+-@")


def validate_tag_value(value: str, *, min_length: int = 1) -> str:
    """The ``TagValue`` shape: up to 256 Unicode letters, separators (spaces), numbers and ``_.:/=+-@``."""
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} cannot be a tag value (a string)")
    bad = sorted({c for c in value if not (c in TAG_VALUE_EXTRA or unicodedata.category(c)[0] in "LZN")})
    if bad or not min_length <= len(value) <= 256:
        what = f" (not allowed: {', '.join(repr(c) for c in bad[:5])})" if bad else f" ({len(value)} characters)"
        raise ValueError(f"{shown(value)} cannot be a tag value{what}; allowed: {min_length}-256 letters, digits, "
                         f"spaces and _.:/=+-@")
    return value


GITHUB_OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
GITHUB_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def validate_github_owner(value: str) -> str:
    if not isinstance(value, str) or not GITHUB_OWNER_RE.match(value):
        raise ValueError(f"{shown(value)} is not a GitHub user or organization name; allowed: 1-39 letters, digits "
                         f"and single hyphens, not starting or ending with a hyphen")
    return value


def validate_github_repository(value: str) -> str:
    """``<owner>/<name>``."""
    owner, sep, name = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not sep:
        raise ValueError(f"{shown(value)} is not a GitHub repository; expected <owner>/<name>, e.g. acme-ml/churn")
    validate_github_owner(owner)
    if not GITHUB_REPO_RE.match(name) or name in (".", ".."):
        raise ValueError(f"{shown(value)}: repository name {shown(name, 40)} is not allowed; allowed: 1-100 letters, "
                         f"digits, '.', '-' and '_' (not '.' or '..')")
    return value


BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def bucket_problem(bucket: str) -> Optional[str]:
    if not BUCKET_RE.match(bucket):
        return "3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "no two adjacent periods, and no period next to a hyphen"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
        return "not formatted as an IP address"
    if bucket.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or bucket.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        return "not starting with xn--/sthree-/amzn-s3-demo- or ending with -s3alias/--ol-s3/--x-s3 (reserved)"
    return None


def validate_s3_uri(value: str, *, obj: bool) -> str:
    """``s3://<bucket>/<key>`` (``obj``: an object, not a prefix) or ``s3://<bucket>[/<prefix>]``."""
    example = "s3://my-bucket/churn/baseline/statistics.json" if obj else "s3://my-bucket/churn/ground-truth/"
    what = "an S3 object URI; expected s3://<bucket>/<key>" if obj else "an S3 URI; expected s3://<bucket>/<prefix>/"
    if not isinstance(value, str) or not value.startswith("s3://"):
        raise ValueError(f"{shown(value)} is not {what}, e.g. {example}")
    bucket, _, key = value[5:].partition("/")
    problem = bucket_problem(bucket)
    if problem:
        raise ValueError(f"{shown(value)}: bucket {shown(bucket, 70)} is not a bucket name; allowed: {problem}")
    if obj and (not key or key.endswith("/")):
        raise ValueError(f"{shown(value)} is not {what} (it names a bucket or prefix), e.g. {example}")
    if len(key.encode("utf-8", "surrogatepass")) > 1024:
        raise ValueError(f"{shown(value)}: the key is {len(key.encode('utf-8', 'surrogatepass'))} bytes; S3 allows "
                         f"1-1024 bytes")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in key) or "//" in key or any(c.isspace() for c in key):
        raise ValueError(f"{shown(value)}: the key has control characters, whitespace or an empty path segment "
                         f"('//'); allowed: UTF-8 path segments separated by single '/'")
    return value


def namespace_warnings(config: dict[str, Any], namespace: str) -> list[tuple[str, str]]:
    """(key, message) for keys whose namespace is a near miss of ``namespace`` (``mlop:``, ``MLOPS:``): ignored."""
    out = []
    for key in config:
        ns, sep, name = str(key).partition(":")
        near = ns.lower() == namespace or difflib.SequenceMatcher(None, ns.lower(), namespace).ratio() >= 0.75
        if sep and ns != namespace and near:
            out.append((str(key)[:100], f"namespace {shown(ns, 30)} is not '{namespace}', so this key is ignored; "
                                        f"did you mean '{namespace}:{name[:60]}'?"))
    return out


def endpoint_problems(serving: Any, *, prod_endpoint: bool, path: str) -> list[tuple[str, str]]:
    """(key path, message) for endpoint rules AWS would only reject at deploy time (limits from the SageMaker API
    model: 1-10 rollback alarms, canary 1-50% / linear 10-50% of the fleet, at most half the fleet per step)."""
    problems: list[tuple[str, str]] = []
    if prod_endpoint and serving.min_instances < 2:
        problems.append((f"{path}.minInstances",
                                f"{serving.min_instances} is too few for a prod endpoint; need minInstances >= 2 "
                                f"(instances are spread across Availability Zones)"))
    total = serving.builtin_alarms + len(serving.rollback_alarms)
    if total == 0:
        problems.append((f"{path}.rollbackAlarms",
                                "auto-rollback needs at least one alarm: keep errorAlarm or latencyAlarm on, or "
                                "name an alarm in rollbackAlarms"))
    elif total > 10:
        problems.append((f"{path}.rollbackAlarms",
                                f"{total} rollback alarms ({serving.builtin_alarms} built-in + "
                                f"{len(serving.rollback_alarms)} listed); AWS allows 1-10 per endpoint"))
    routing = serving.traffic_routing
    for field_key, attr, kind in (("canarySize", "canary_size", "CANARY"),
                                  ("linearStepSize", "linear_step_size", "LINEAR")):
        size = getattr(routing, attr)
        where = f"{path}.trafficRouting.{field_key}"
        if routing.type == kind and size is None:
            problems.append((where, f"required when trafficRouting.type is {kind}, e.g. "
                                           f"{{type: CAPACITY_PERCENT, value: {10 if kind == 'LINEAR' else 20}}}"))
        elif routing.type != kind and size is not None:
            problems.append((where, f"only allowed when trafficRouting.type is {kind} "
                                           f"(it is {routing.type})"))
        elif size is not None:
            low = 10 if kind == "LINEAR" else 1
            if size.type == "CAPACITY_PERCENT" and not low <= size.value <= 50:
                problems.append((f"{where}.value",
                                        f"{size.value}% is out of range; AWS allows {low}-50% of the fleet for a "
                                        f"{kind.lower()} step"))
            elif size.type == "INSTANCE_COUNT" and size.value * 2 > serving.min_instances:
                problems.append((f"{where}.value",
                                        f"{size.value} instance(s) is more than 50% of minInstances "
                                        f"({serving.min_instances}); AWS allows at most half the fleet per step - "
                                        f"raise minInstances, use CAPACITY_PERCENT or ALL_AT_ONCE"))
    return problems


def non_finite_paths(value: Any, path: str = "", depth: int = 0) -> list[str]:
    """Key paths (``a.b[2]``) of every NaN/Infinity in a parsed document (JSON has no such numbers)."""
    if depth > 200:
        return []
    if isinstance(value, float) and not math.isfinite(value):
        return [path or "(value)"]
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(non_finite_paths(v, f"{path}.{k}" if path else str(k), depth + 1))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(non_finite_paths(v, f"{path}[{i}]", depth + 1))
    return out


# ---------------------------------------------------------------------------------------------------
# Reading a stack file safely
# ---------------------------------------------------------------------------------------------------

MAX_DEPTH = 64          # nesting levels; a stack config needs about 6
MAX_INT_DIGITS = 4300   # Python's int() limit (sys.get_int_max_str_digits), so YAML integers stay integers


class YamlProblem(ValueError):
    """A stack file that cannot be read as Pulumi would read it; ``where`` is the key path or ``(file)``."""

    def __init__(self, where: str, message: str):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def decode_stack_bytes(data: bytes) -> str:
    """UTF-8 text (a UTF-8 BOM is accepted); UTF-16/32 and invalid UTF-8 are refused with the offending place."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
                      (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise YamlProblem("(file)", f"the file is {name} encoded; Pulumi stack files are UTF-8: save it as UTF-8")
    if len(data) >= 2 and (data[0] == 0 or data[1] == 0):
        raise YamlProblem("(file)", "the file looks UTF-16/32 encoded (NUL bytes); Pulumi stack files are UTF-8: "
                                    "save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlProblem("(file)", f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} (offset "
                                    f"{exc.start}); Pulumi stack files are UTF-8: save it as UTF-8") from None


def _loader_class():
    import yaml
    from yaml.constructor import ConstructorError

    class StackLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys (as Pulumi's YAML parser does), deep nesting and huge ints."""

        _depth = 0

        def compose_node(self, parent, index):
            StackLoader._depth_check(self)
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def _depth_check(self):
            if self._depth >= MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConstructorError(None, None, f"nesting deeper than {MAX_DEPTH} levels (a stack config needs "
                                                   f"fewer than 10)", mark)

        def construct_mapping(self, node, deep=False):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise ConstructorError(None, None, f"a mapping key must be a scalar, got {type(key).__name__}",
                                           key_node.start_mark) from None
                if key in seen:
                    raise ConstructorError(None, None, f"duplicate key {shown(key, 60)} (first at line "
                                                       f"{seen[key].line + 1}); Pulumi refuses duplicate keys: keep one",
                                           key_node.start_mark)
                seen[key] = key_node.start_mark
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            digits = sum(c.isdigit() for c in str(node.value))
            if digits > MAX_INT_DIGITS:
                raise ConstructorError(None, None, f"an integer of {digits} digits; allowed: at most {MAX_INT_DIGITS} "
                                                   f"digits", node.start_mark)
            return super().construct_yaml_int(node)

    StackLoader.add_constructor("tag:yaml.org,2002:int", StackLoader.construct_yaml_int)
    return StackLoader


MAX_VALUES = 200_000  # values after YAML aliases are expanded (a "billion laughs" document is refused)


def _check_expanded_size(doc: Any) -> None:
    stack, count = [doc], 0
    while stack:
        value = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise YamlProblem("(file)", f"the document expands to more than {MAX_VALUES:,} values (YAML aliases?); "
                                        f"a stack config holds a few hundred")
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def parse_stack_yaml(data: bytes) -> Any:
    """The document of a stack file, or :class:`YamlProblem` (never another exception)."""
    import yaml

    text = decode_stack_bytes(data)
    try:
        doc = yaml.load(text, Loader=_loader_class())  # noqa: S506 - a SafeLoader subclass
        _check_expanded_size(doc)
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem("(file)", f"not valid YAML{where}: {str(problem)[:300]}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem("(file)", f"not valid YAML: {str(exc)[:300]}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise YamlProblem("(file)", f"cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
