"""modules/botocore_facts.py: the regions and instance types spec validation takes from botocore, kept on disk per
botocore version - the stored table is botocore's, a bad file is recomputed, and a warm validate loads no botocore."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modules import botocore_facts, definition_cache, validation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(definition_cache.CACHE_ENV, str(tmp_path / "definitions"))
    monkeypatch.delenv(definition_cache.NO_CACHE_ENV, raising=False)
    botocore_facts.facts.cache_clear()
    yield tmp_path
    botocore_facts.facts.cache_clear()


def test_the_stored_table_is_botocores(fresh_cache):
    first = botocore_facts.facts()
    stored = list(fresh_cache.glob("botocore-*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text()) == botocore_facts.compute() == first
    botocore_facts.facts.cache_clear()
    assert botocore_facts.facts() == first
    import botocore.session

    session = botocore.session.get_session()
    assert set(first["regions"]) == set(session.get_available_regions("sagemaker", "aws")) | {
        r for p in session.get_available_partitions() if p != "aws" for r in session.get_available_regions("sagemaker", p)}
    shape = session.get_service_model("sagemaker").shape_for("TrainingInstanceType")
    assert first["instance_types"]["training"] == sorted(shape.enum)


def test_validation_reads_it(fresh_cache):
    validation.instance_types.cache_clear()
    validation.regions.cache_clear()
    try:
        assert validation.partition_of("us-east-1") == "aws"
        assert "ml.m5.xlarge" in validation.instance_types("training")
        assert validation.region_problem("us-east-9")
    finally:
        validation.instance_types.cache_clear()
        validation.regions.cache_clear()


@pytest.mark.parametrize("content", ["", "[]", "{\"regions\": {}}", "{bad"])
def test_a_bad_file_is_recomputed(fresh_cache, content):
    botocore_facts.facts()
    path = next(fresh_cache.glob("botocore-*.json"))
    path.write_text(content)
    botocore_facts.facts.cache_clear()
    assert botocore_facts.facts() == botocore_facts.compute()
    assert json.loads(path.read_text()) == botocore_facts.compute()


def test_a_warm_validate_loads_no_botocore(tmp_path):
    code = ("import sys\nfrom modules.cli import app\ntry:\n    app(['validate', '--stack', 'prod'])\n"
            "except SystemExit as exc:\n    assert exc.code == 0, exc.code\nprint('botocore' in sys.modules)")
    env = {**os.environ, definition_cache.CACHE_ENV: str(tmp_path / "definitions")}
    runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=300) for _ in range(2)]
    assert [r.stdout.strip().splitlines()[-1] for r in runs] == ["True", "False"], [r.stderr[-500:] for r in runs]
