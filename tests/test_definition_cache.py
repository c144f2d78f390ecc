"""The on-disk pipeline definition cache (modules/definition_cache.py): what it serves is what the SageMaker SDK
builds, a changed input (or builder, or SDK) misses, writes are whole, and a warm plan never imports the SDK."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from modules import definition_cache, pipeline_definition
from modules.pipeline_definition import PipelineInputs, build_definition, build_fresh

ROOT = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
BASE = PipelineInputs(project="churn", pipeline_name="acme-dev-churn-training", region="us-east-1",
                      artifact_bucket="acme-dev-artifacts", role_arn="arn:aws:iam::123456789012:role/acme-dev-churn",
                      model_package_group="acme-dev-churn")


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    where = tmp_path / "definitions"
    monkeypatch.setenv(definition_cache.CACHE_ENV, str(where))
    monkeypatch.delenv(definition_cache.NO_CACHE_ENV, raising=False)
    build_definition.cache_clear()
    yield where
    build_definition.cache_clear()


def _record_inputs(monkeypatch) -> list[PipelineInputs]:
    seen: list[PipelineInputs] = []
    real = definition_cache.cached

    def recording(inputs, build):
        seen.append(inputs)
        return real(inputs, build)

    monkeypatch.setattr(definition_cache, "cached", recording)
    return seen


def _definitions(graph) -> dict[str, str]:
    return {r.name: r.inputs["pipelineDefinition"] for r in graph.by_type("aws:sagemaker/pipeline:Pipeline")}


@pytest.mark.slow
@pytest.mark.parametrize("stack", STACKS)
def test_cached_definition_equals_a_fresh_sdk_build_for_the_sample_stacks(stack, cache_dir, monkeypatch):
    from modules import plan

    seen = _record_inputs(monkeypatch)
    cold = plan.plan(stack=stack)          # empty cache: the SDK builds, the cache is filled
    build_definition.cache_clear()         # forget the in-process copies: the next plan reads the disk
    warm = plan.plan(stack=stack)
    if not seen:
        assert not _definitions(cold), f"stack {stack} declares pipelines but built none"
        return
    assert len(list(cache_dir.glob("*.json"))) == len(set(seen))
    for inputs in set(seen):
        stored = definition_cache.read(definition_cache.key(inputs))
        assert stored is not None
        assert stored == build_fresh(inputs)  # the SDK, no cache at all
    assert _definitions(warm) == _definitions(cold)
    assert [r.inputs for r in warm.resources] == [r.inputs for r in cold.resources]


@pytest.mark.parametrize("field,value", [
    ("project", "fraud"), ("pipeline_name", "acme-dev-churn-training2"), ("region", "eu-west-1"),
    ("artifact_bucket", "acme-dev-artifacts2"), ("role_arn", "arn:aws:iam::123456789012:role/other"),
    ("model_package_group", "acme-dev-other"), ("code_version", "abc123"), ("framework", "xgboost"),
    ("framework_version", "1.7-1"), ("training_instance_type", "ml.m5.2xlarge"),
    ("processing_instance_type", "ml.m5.xlarge"), ("metric", "f1"), ("threshold", 0.81),
    ("kms_key_arn", "arn:aws:kms:us-east-1:123456789012:key/k"), ("serving_instance_type", "ml.c5.large"),
    ("cache_steps", True), ("bound", "max"), ("problem_type", "regression"),
])
def test_every_input_field_is_in_the_key(field, value):
    assert {f.name for f in dataclasses.fields(PipelineInputs)} >= {field}
    assert definition_cache.key(dataclasses.replace(BASE, **{field: value})) != definition_cache.key(BASE)


def test_every_input_field_is_covered_by_the_test_above():
    tested = {"project", "pipeline_name", "region", "artifact_bucket", "role_arn", "model_package_group",
              "code_version", "framework", "framework_version", "training_instance_type", "processing_instance_type",
              "metric", "threshold", "kms_key_arn", "serving_instance_type", "cache_steps", "bound", "problem_type"}
    assert {f.name for f in dataclasses.fields(PipelineInputs)} == tested


def test_a_changed_input_misses_and_is_built_by_the_sdk(cache_dir, monkeypatch):
    calls: list[PipelineInputs] = []

    def build(inputs):
        calls.append(inputs)
        return build_fresh(inputs)

    first = definition_cache.cached(BASE, build)
    again = definition_cache.cached(BASE, build)
    changed = dataclasses.replace(BASE, threshold=0.9)
    other = definition_cache.cached(changed, build)
    assert calls == [BASE, changed]  # the second BASE was a hit
    assert first == again and json.loads(other) != json.loads(first)
    assert other == build_fresh(changed)


def test_the_builder_source_and_the_sdk_version_are_in_the_key(tmp_path, monkeypatch):
    base = definition_cache.key(BASE)
    copy = tmp_path / "modules"
    (copy / "components").mkdir(parents=True)
    for name in definition_cache.SOURCES:
        (copy / name).write_bytes((ROOT / "modules" / name).read_bytes())
    monkeypatch.setattr(definition_cache, "_HERE", copy)
    definition_cache.fingerprint.cache_clear()
    try:
        assert definition_cache.key(BASE) == base  # same bytes, same key
        definition_cache.fingerprint.cache_clear()
        (copy / "pipeline_definition.py").write_text((copy / "pipeline_definition.py").read_text() + "\n# changed\n")
        assert definition_cache.key(BASE) != base
        definition_cache.fingerprint.cache_clear()
        monkeypatch.setattr(definition_cache, "_HERE", ROOT / "modules")
        import importlib.metadata

        real = importlib.metadata.version
        monkeypatch.setattr(importlib.metadata, "version",
                            lambda d: "99.0.0" if d == "sagemaker-core" else real(d))
        assert definition_cache.key(BASE) != base
    finally:
        definition_cache.fingerprint.cache_clear()


@pytest.mark.parametrize("content", ["", "{not json", json.dumps({"key": "other", "definition": "{}"}),
                                     json.dumps({"key": None, "definition": "{ }"})])
def test_a_torn_or_foreign_entry_is_rebuilt_and_overwritten(cache_dir, content):
    digest = definition_cache.key(BASE)
    cache_dir.mkdir(parents=True)
    entry = cache_dir / f"{digest}.json"
    if '"key": null' in content:
        content = json.dumps({"key": digest, "definition": "{ }"})  # not the canonical serialisation
    entry.write_text(content)
    assert definition_cache.read(digest) is None
    built = definition_cache.cached(BASE, lambda i: pipeline_definition._canonical('{"Version": "x"}'))
    assert built == '{"Version":"x"}'
    assert json.loads(entry.read_text()) == {"key": digest, "definition": built}


def test_no_cache_env_builds_every_time_and_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setenv(definition_cache.NO_CACHE_ENV, "1")
    calls = []
    for _ in range(2):
        definition_cache.cached(BASE, lambda i: calls.append(i) or '{"a":1}')
    assert len(calls) == 2 and not cache_dir.exists()


def test_an_unwritable_cache_only_loses_the_speed_up(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(definition_cache.CACHE_ENV, str(blocker / "definitions"))
    assert definition_cache.cached(BASE, lambda i: '{"a":1}') == '{"a":1}'


def test_concurrent_writers_and_readers_see_whole_entries(cache_dir):
    digest = definition_cache.key(BASE)
    value = pipeline_definition._canonical(json.dumps({"Steps": [{"Name": f"s{i}"} for i in range(2000)]}))
    seen: list[object] = []

    def writer():
        for _ in range(30):
            definition_cache.write(digest, value)

    def reader():
        for _ in range(60):
            seen.append(definition_cache.read(digest))

    threads = [threading.Thread(target=f) for f in (writer, writer, writer, reader, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(seen) <= {None, value} and value in seen
    assert [p.name for p in cache_dir.iterdir()] == [f"{digest}.json"]  # no temp file left behind


_PLAN_MODULES = """
import json, sys
sys.argv = ["ladder", "plan", "--stack", "prod", "--json"]
from modules.cli import app
try:
    app()
except SystemExit:
    pass
print("MODULES", json.dumps({"sagemaker": sorted(m for m in sys.modules if m == "sagemaker" or m.startswith("sagemaker.")),
                  "pandas": "pandas" in sys.modules}), file=sys.stderr)
"""


def _plan_in_fresh_process(cache: Path, **env) -> tuple[dict, dict]:
    proc = subprocess.run([sys.executable, "-c", _PLAN_MODULES], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, definition_cache.CACHE_ENV: str(cache), **env})
    assert proc.returncode == 0 and proc.stdout.lstrip().startswith("{"), (proc.stdout[:500], proc.stderr[-2000:])
    marker = next(ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("MODULES "))
    return json.loads(proc.stdout), json.loads(marker[8:])


@pytest.mark.slow
def test_a_warm_plan_does_not_import_the_sagemaker_sdk(tmp_path):
    cold_plan, cold = _plan_in_fresh_process(tmp_path / "c")
    assert cold["sagemaker"], "a cold cache must build with the SDK (else this test proves nothing)"
    warm_plan, warm = _plan_in_fresh_process(tmp_path / "c")
    assert warm == {"sagemaker": [], "pandas": False}
    assert warm_plan == cold_plan
    off_plan, off = _plan_in_fresh_process(tmp_path / "c", **{definition_cache.NO_CACHE_ENV: "1"})
    assert off["sagemaker"] and off_plan == cold_plan  # LADDER_NO_CACHE=1: the SDK builds again


def test_the_default_directory_is_the_checkouts_else_the_users_cache_never_site_packages(tmp_path, monkeypatch):
    monkeypatch.delenv(definition_cache.CACHE_ENV, raising=False)
    assert definition_cache.directory() == ROOT / ".ladder" / "cache" / "definitions"  # this checkout
    installed = tmp_path / "site-packages" / "modules"  # a wheel: no pyproject.toml beside the package
    installed.mkdir(parents=True)
    monkeypatch.setattr(definition_cache, "_HERE", installed)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert definition_cache.directory() == tmp_path / "xdg" / "mlops-ladder" / "definitions"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert definition_cache.directory() == tmp_path / "home" / ".cache" / "mlops-ladder" / "definitions"
    monkeypatch.setenv(definition_cache.CACHE_ENV, str(tmp_path / "explicit"))
    assert definition_cache.directory() == tmp_path / "explicit"
