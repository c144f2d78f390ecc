import json

import pandas as pd
import pytest
from conftest import OWN_CONTRACT, PROBLEM_TYPES

from {{ cookiecutter.__package_name }} import preprocess, schema

SAMPLE_ROWS = {"binary": 569, "multiclass": 178, "regression": 442}  # breast cancer, wine, diabetes


def read_splits(written) -> dict:
    return {name: pd.read_csv(written[name]) for name in preprocess.SPLITS}


def test_the_baked_contract_copy_equals_schema_json():
    """A processing job downloads preprocess.py alone: its baked copy of the contract must be schema.json's."""
    assert preprocess.BAKED_CONTRACT == json.loads(schema.default_path().read_text())
    assert preprocess.load_contract() == schema.load()


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_bundled_sample_of_each_problem_type_splits_disjoint_and_complete(problem_type, contract_file, tmp_path):
    written = preprocess.run(None, tmp_path / "out", sample_fallback=True, schema_path=contract_file(problem_type))
    frames = read_splits(written)
    assert sum(len(f) for f in frames.values()) == SAMPLE_ROWS[problem_type]
    assert all(list(f.columns)[0] == "target" for f in frames.values())
    assert len(frames["train"]) > len(frames["validation"]) > 0 and len(frames["test"]) > 0
    keys = [set(map(tuple, f.round(6).values.tolist())) for f in frames.values()]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["data_uri"] == "sklearn:" + preprocess.SAMPLES[problem_type]
    if problem_type == "regression":
        assert frames["train"]["target"].nunique() > 50  # a continuous label, not classes
    else:  # stratified: every class in every split, in the same proportions (+-5 points)
        shares = [f["target"].value_counts(normalize=True).sort_index() for f in frames.values()]
        assert all(list(s.index) == list(shares[0].index) for s in shares)
        assert max(abs(s - shares[0]).max() for s in shares) < 0.05
        assert len(shares[0]) == (2 if problem_type == "binary" else 3)


def test_the_sample_takes_the_contracts_label_name_and_reports_absent_contract_columns(contract_file, tmp_path,
                                                                                          capsys):
    path = contract_file("multiclass", **OWN_CONTRACT)
    written = preprocess.run(None, tmp_path / "out", sample_fallback=True, schema_path=path)
    assert list(pd.read_csv(written["train"]).columns)[0] == "outcome"
    out = capsys.readouterr().out
    assert "['plan', 'region', 'customer_id']" in out and "ignored for the sample" in out


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_own_csv_label_by_name_id_dropped_categorical_kept_no_row_dropped(problem_type, own_csv, tmp_path, capsys):
    """Label not first, an id column (data.drop), categorical columns and missing values: every row is used."""
    csv, contract, raw = own_csv(problem_type)
    written = preprocess.run(csv, tmp_path / "out", schema_path=contract)
    frames = read_splits(written)
    assert sum(len(f) for f in frames.values()) == len(raw) == 600
    assert all(list(f.columns) == ["outcome", "tenure", "plan", "monthly_charges", "region"] for f in frames.values())
    joined = pd.concat(frames.values())
    features = ["tenure", "plan", "monthly_charges", "region"]
    assert joined[features].isna().sum().to_dict() == raw[features].isna().sum().to_dict()  # missing kept
    assert set(joined["plan"].dropna()) == {"basic", "plus", "pro"}
    manifest = json.loads(written["manifest"].read_text())
    rows = manifest["rows"]
    assert rows["input"] == 600 and rows["unlabelled"] == 0
    assert rows["train"] + rows["validation"] + rows["test"] == 600
    assert manifest["missing_cells"] == {k: int(v) for k, v in raw[features].isna().sum().items()}
    out = capsys.readouterr().out
    assert f"column 'region': {int(raw['region'].isna().sum())} missing cell(s)" in out
    assert json.loads((tmp_path / "out" / "train" / "schema.json").read_text())["label"] == "outcome"


def test_rows_without_a_label_are_left_out_and_counted(own_csv, tmp_path, capsys):
    csv, contract, raw = own_csv("binary")
    raw.loc[:9, "outcome"] = None
    raw.to_csv(csv, index=False)
    written = preprocess.run(csv, tmp_path / "out", schema_path=contract)
    rows = json.loads(written["manifest"].read_text())["rows"]
    assert rows["unlabelled"] == 10 and rows["train"] + rows["validation"] + rows["test"] == 590
    assert rows["input"] == 600
    assert "10 row(s) without a label 'outcome' left out" in capsys.readouterr().out
    assert set(pd.read_csv(written["train"])["outcome"]) == {0, 1}  # integers again, not 0.0/1.0


def test_missing_label_column_names_it_and_the_columns_found(own_csv, contract_file, tmp_path, capsys):
    csv, _, _ = own_csv("binary")
    code = preprocess.main(["--input-dir", str(csv), "--output-dir", str(tmp_path / "out"),
                            "--schema", str(contract_file("binary", label="churn", drop=["customer_id"]))])
    err = capsys.readouterr().err
    assert code == 2 and "label column 'churn'" in err and "'customer_id', 'tenure', 'plan', 'outcome'" in err
    assert not (tmp_path / "out").exists()  # nothing half written


def test_a_contract_column_missing_from_real_data_is_an_error(own_csv, contract_file, tmp_path, capsys):
    csv, _, _ = own_csv("binary")
    contract = contract_file("binary", label="outcome", categorical=["plan", "segment"], drop=["customer_id"])
    assert preprocess.main(["--input-dir", str(csv), "--output-dir", str(tmp_path / "o"), "--schema", str(contract)]) == 2
    assert "['segment']" in capsys.readouterr().err


def test_text_in_an_undeclared_column_is_an_error_naming_it(own_csv, contract_file, tmp_path, capsys):
    csv, _, _ = own_csv("binary")
    contract = contract_file("binary", label="outcome", categorical=["plan"], drop=["customer_id"])
    assert preprocess.main(["--input-dir", str(csv), "--output-dir", str(tmp_path / "o"), "--schema", str(contract)]) == 2
    err = capsys.readouterr().err
    assert "column 'region' holds text" in err and "data.categorical" in err


def test_binary_contract_with_three_classes_is_an_error(own_csv, contract_file, tmp_path):
    csv, _, _ = own_csv("multiclass")
    with pytest.raises(preprocess.ContractError, match="exactly 2"):
        preprocess.run(csv, tmp_path / "o", schema_path=contract_file("binary", **OWN_CONTRACT))


@pytest.mark.parametrize("problem_type, rare", [("binary", 1), ("multiclass", "rare")])
def test_a_class_with_one_row_is_a_contract_error_naming_the_label_and_the_class(problem_type, rare, own_csv,
                                                                                    tmp_path, capsys):
    """One row of a class: the old split dropped stratification and the row could miss the training split, then
    evaluate raised a traceback. Now exit 2 naming the label column and the class, nothing written."""
    csv, contract, raw = own_csv(problem_type)
    if problem_type == "binary":
        raw["outcome"] = 0
    raw.loc[0, "outcome"] = rare
    raw.to_csv(csv, index=False)
    out = tmp_path / "o"
    assert preprocess.main(["--input-dir", str(csv), "--output-dir", str(out), "--schema", str(contract)]) == 2
    err = capsys.readouterr().err
    assert "label column 'outcome'" in err and f"class(es) [{str(rare)!r}]" in err and "fewer than 2 rows" in err, err
    assert not out.exists()


def test_a_class_with_two_rows_reaches_the_training_split(own_csv, tmp_path):
    csv, contract, raw = own_csv("multiclass")
    raw.loc[[0, 1], "outcome"] = "rare"
    raw.to_csv(csv, index=False)
    written = preprocess.run(csv, tmp_path / "o", schema_path=contract)
    frames = read_splits(written)
    assert sum(len(f) for f in frames.values()) == 600 and "rare" in set(frames["train"]["outcome"])


def test_only_the_newest_version_folder_is_used(tmp_path, contract_file):
    """InputDataUrl holds <version>/*.csv; the lexicographically greatest version is the one trained on."""
    contract = contract_file("binary")
    data = preprocess.load_bundled_dataset(preprocess.load_contract(contract))
    for version, rows in (("2026-01-01", 120), ("2026-03-01", 150), ("2026-02-01", 130)):
        (tmp_path / "in" / version).mkdir(parents=True)
        data.head(rows).to_csv(tmp_path / "in" / version / "part.csv", index=False)
    data.head(100).to_csv(tmp_path / "in" / "loose.csv", index=False)  # ignored: version folders exist
    assert preprocess.main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
                            "--input-uri", "s3://bucket/churn/data", "--schema", str(contract)]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest" / "manifest.json").read_text())
    assert manifest["data_version"] == "2026-03-01" and manifest["data_uri"] == "s3://bucket/churn/data/2026-03-01/"
    assert manifest["rows"]["input"] == 150
    assert sum(manifest["rows"][n] for n in preprocess.SPLITS) == 150


def test_the_seeded_sample_is_older_than_any_version_of_the_team(tmp_path):
    """`run_pipeline --seed-sample-data` writes sample-1/; "sample-1" > "2026-..." as text, yet the team's data wins."""
    data = preprocess.load_bundled_dataset()
    for version, rows in (("sample-1", 120), ("2026-03-01", 150)):
        (tmp_path / "in" / version).mkdir(parents=True)
        data.head(rows).to_csv(tmp_path / "in" / version / "part.csv", index=False)
    (tmp_path / "in" / "code").mkdir()  # the processing job's code input sits in the input dir: no CSV, ignored
    (tmp_path / "in" / "code" / "preprocess.py").write_text("")
    version, _ = preprocess.newest_version(tmp_path / "in")
    assert version == "2026-03-01"


def test_empty_input_is_an_error_unless_the_sample_fallback_is_asked_for(tmp_path, capsys):
    """In a processing job an empty input is an error (SageMaker refuses an empty S3Prefix input anyway);
    only local runs (make train-local) fall back to the bundled dataset."""
    (tmp_path / "empty" / "v1").mkdir(parents=True)
    assert preprocess.main(["--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")]) == 2
    assert "no CSV file" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(preprocess.NoDataError):
        preprocess.run(tmp_path / "missing", tmp_path / "o")
    assert preprocess.main(["--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o"),
                            "--sample-data-fallback"]) == 0
    for name in preprocess.SPLITS:
        assert (tmp_path / "o" / name / f"{name}.csv").stat().st_size > 0
    assert json.loads((tmp_path / "o" / "manifest" / "manifest.json").read_text())["data_version"] == \
        preprocess.SAMPLE_VERSION


def test_baseline_file_is_the_training_split_as_the_endpoint_captures_it(own_csv, tmp_path):
    """Model Monitor's baseline must look like captured text/csv: no header, no label, serving (schema) order,
    a missing value an empty cell."""
    csv, contract, _ = own_csv("binary")
    written = preprocess.run(csv, tmp_path / "out", schema_path=contract)
    lines = written["baseline"].read_text().splitlines()
    train = pd.read_csv(written["train"], dtype={"plan": str, "region": str})
    assert len(lines) == len(train)  # no header row: every line is a record
    cells = [line.split(",") for line in lines]
    assert {len(c) for c in cells} == {4}  # tenure, plan, monthly_charges, region: no label, no id
    expected = train.drop(columns=["outcome"])
    for row, (_, want) in zip(cells[:50], expected.head(50).iterrows(), strict=True):
        for cell, value in zip(row, want, strict=True):
            assert cell == "" if pd.isna(value) else cell == str(value)
    assert any(cell == "" for row in cells for cell in row)
