"""Spec loading never crashes: every unreadable, mis-encoded, too deep, too large or duplicate-key stack file is
one SpecError naming the file (and key), exit 2 from the CLI; values in messages are cut; near-miss namespaces
warn. The property tests (hypothesis, bounded) check that loading raises nothing but SpecError."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modules import spec
from modules.cli import app

GOOD = ("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 2\n  mlops:owner: me\n"
        "  mlops:github: {org: acme-ml}\n  mlops:projects:\n    - name: churn\n")


def load_error(tmp_path, data: bytes, name: str = "Pulumi.x.yaml") -> spec.SpecError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(spec.SpecError) as info:
        spec.load(path=path)
    assert str(path) in str(info.value) or path.name in str(info.value)
    return info.value


def cli_validate(tmp_path, data: bytes):
    path = tmp_path / "Pulumi.cli.yaml"
    path.write_bytes(data)
    return CliRunner().invoke(app, ["validate", "--stack-file", str(path)])


def test_a_good_file_loads():
    assert yaml.safe_load(GOOD)["config"]["mlops:maturity"] == 2


def test_duplicate_keys_are_an_error_not_last_one_wins(tmp_path):
    # yaml.safe_load keeps the last value: level 0 would validate
    doc = GOOD.replace("  mlops:maturity: 2\n", "  mlops:maturity: 4\n  mlops:maturity: 0\n")
    assert yaml.safe_load(doc)["config"]["mlops:maturity"] == 0
    err = load_error(tmp_path, doc.encode())
    assert "duplicate key 'mlops:maturity'" in str(err) and "line 4" in str(err)
    result = cli_validate(tmp_path, doc.encode())
    assert result.exit_code == 2 and "duplicate key" in result.output


def test_duplicate_keys_nested(tmp_path):
    doc = GOOD.replace("    - name: churn\n", "    - name: churn\n      name: fraud\n")
    assert "duplicate key 'name'" in str(load_error(tmp_path, doc.encode()))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_one_error(tmp_path, encoding):
    err = load_error(tmp_path, GOOD.encode(encoding))
    assert "UTF-8" in str(err)
    result = cli_validate(tmp_path, GOOD.encode(encoding))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_invalid_utf8_is_one_error_with_the_place(tmp_path):
    data = GOOD.replace("mlops:owner: me", "mlops:owner: m\xe9").encode("latin-1")
    err = load_error(tmp_path, data)
    assert "not UTF-8 text: byte 0xe9 at line 5" in str(err)
    assert cli_validate(tmp_path, data).exit_code == 2


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "Pulumi.bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert spec.load(path=path).maturity == 2


def test_too_deep_nesting_is_one_error(tmp_path):
    data = (GOOD + "  mlops:features: " + "[" * 5000 + "]" * 5000 + "\n").encode()
    err = load_error(tmp_path, data)
    assert "nesting deeper than" in str(err)
    assert cli_validate(tmp_path, data).exit_code == 2


def test_integers_over_4300_digits_are_one_error(tmp_path):
    data = GOOD.replace("mlops:maturity: 2", "mlops:maturity: " + "9" * 5000).encode()
    err = load_error(tmp_path, data)
    assert "integer of 5000 digits" in str(err)
    assert len(str(err)) < 1000
    assert cli_validate(tmp_path, data).exit_code == 2


def test_alias_bombs_are_refused(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    data = ("config:\n  aws:region: us-east-1\n  mlops:x:\n" + "".join(f"    {line}\n" for line in lines)).encode()
    assert "expands to more than" in str(load_error(tmp_path, data))


def test_huge_values_are_cut_in_messages(tmp_path):
    data = GOOD.replace("mlops:owner: me", "mlops:owner: " + "x" * (10 * 1024 * 1024)).encode()
    err = load_error(tmp_path, data)
    assert "mlops:owner" in str(err)
    assert len(str(err)) < 2000


def test_huge_unknown_key_is_cut(tmp_path):
    data = GOOD.replace("mlops:owner: me", "mlops:owner: me\n  mlops:" + "k" * 100000 + ": 1").encode()
    assert len(str(load_error(tmp_path, data))) < 3000


@pytest.mark.parametrize("what", ["directory", "unreadable", "nul"])
def test_unreadable_paths_are_one_error(tmp_path, monkeypatch, what):
    path = tmp_path / "Pulumi.u.yaml"
    if what == "directory":
        path.mkdir()
    elif what == "unreadable":  # chmod 0 does not stop root, so the read itself fails as it would for a user
        path.write_text(GOOD)

        def denied(self):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(type(path), "read_bytes", denied)
    else:
        path = tmp_path / "Pulumi.\x00.yaml"
    with pytest.raises(spec.SpecError) as info:
        spec.load(path=path)
    assert {"directory": "is a directory", "unreadable": "Permission denied", "nul": "no such stack file"}[what] \
        in str(info.value)


def test_non_finite_numbers_anywhere_are_refused(tmp_path):
    data = (GOOD + "  aws:someNumber: .nan\n").encode()
    assert "aws:someNumber: not a finite number" in str(load_error(tmp_path, data))


@pytest.mark.parametrize("namespace", ["mlop", "MLOPS", "Mlops", "mlosp"])
def test_near_miss_namespaces_warn(tmp_path, namespace):
    data = (GOOD + f"  {namespace}:org: acme\n").encode()
    path = tmp_path / "Pulumi.w.yaml"
    path.write_bytes(data)
    s = spec.load(path=path)
    assert any("did you mean 'mlops:org'" in w for w in s.warnings)
    result = CliRunner().invoke(app, ["validate", "--stack-file", str(path)])
    assert result.exit_code == 0 and "warning" in result.output and "did you mean 'mlops:org'" in result.output


def test_near_miss_namespace_is_named_with_the_errors_it_causes(tmp_path):
    data = GOOD.replace("mlops:maturity: 2", "MLOPS:maturity: 2").encode()
    text = str(load_error(tmp_path, data))
    assert "mlops:maturity: required" in text and "did you mean 'mlops:maturity'" in text


def test_unrelated_namespaces_do_not_warn(tmp_path):
    path = tmp_path / "Pulumi.ok.yaml"
    path.write_text(GOOD + "  aws:profile: x\n  pulumi:tags: {a: b}\n")
    assert spec.load(path=path).warnings == ()


# ---- properties ---------------------------------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None, database=None,  # bounded; no .hypothesis/ in the tree
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                    st.sampled_from(["rate(1 day)", "cron(0 0 ? * MON *)", "ml.m5.large", "s3://b/k", "arn:aws:x",
                                     "churn", "acme/churn", "LADDER-S3-001", "-1", "4", "full-automation"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)
KEYS = ["aws:region", "mlops:environment", "mlops:maturity", "mlops:owner", "mlops:org", "mlops:github",
        "mlops:features", "mlops:network", "mlops:projects", "mlops:policyExceptions", "mlops:", "MLOPS:maturity",
        "mlop:owner", "x"]
PROJECT_KEYS = ["name", "repository", "framework", "training", "serving", "deploy", "monitoring", "registry"]
projects = st.lists(st.dictionaries(st.sampled_from(PROJECT_KEYS), values, max_size=5), max_size=2)
configs = st.dictionaries(st.sampled_from(KEYS), values, max_size=8).flatmap(
    lambda cfg: projects.map(lambda p: {**cfg, "mlops:projects": p}))


@PROPERTY
@given(cfg=configs)
def test_from_config_raises_nothing_but_spec_error(cfg):
    try:
        spec.from_config(cfg, source="<prop>")
    except spec.SpecError as exc:
        assert len(str(exc)) < 1200 * max(1, len(exc.problems))


@PROPERTY
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: ("config:\n  " + t).encode("utf-8", "surrogatepass")),
    configs.map(lambda c: yaml.safe_dump({"config": c}, allow_unicode=True).encode("utf-8", "surrogatepass")),
    st.tuples(configs, st.integers(0, 200)).map(
        lambda t: yaml.safe_dump({"config": t[0]}).encode()[:t[1]]),  # truncated files
))
def test_loading_any_bytes_raises_nothing_but_spec_error(tmp_path, data):
    path = tmp_path / "Pulumi.prop.yaml"
    path.write_bytes(data)
    try:
        spec.load(path=path)
    except spec.SpecError:
        pass
