import json

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import preprocess


def test_bundled_dataset_splits_are_disjoint_and_complete(splits):
    frames = {name: pd.read_csv(splits / name / f"{name}.csv") for name in preprocess.SPLITS}
    total = sum(len(f) for f in frames.values())
    assert total == len(preprocess.load_bundled_dataset())
    assert all(list(f.columns)[0] == preprocess.LABEL for f in frames.values())
    assert set(frames["train"][preprocess.LABEL].unique()) == {0, 1}
    assert len(frames["train"]) > len(frames["validation"]) > 0
    assert len(frames["test"]) > 0
    keys = [set(map(tuple, f.round(6).values.tolist())) for f in frames.values()]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])


def test_reads_csv_input_with_label_first(tmp_path):
    raw = preprocess.load_bundled_dataset().head(200).rename(columns={"target": "label"})
    (tmp_path / "in").mkdir()
    raw.to_csv(tmp_path / "in" / "data.csv", index=False)
    written = preprocess.run(tmp_path / "in", tmp_path / "out", input_uri="s3://b/p/data/")
    train = pd.read_csv(written["train"])
    assert list(train.columns)[0] == preprocess.LABEL
    assert sum(len(pd.read_csv(written[n])) for n in preprocess.SPLITS) == 200
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["data_version"] == "root" and manifest["data_uri"] == "s3://b/p/data/"
    assert manifest["rows"]["input"] == 200


def test_only_the_newest_version_folder_is_used(tmp_path):
    """InputDataUrl holds <version>/*.csv; the lexicographically greatest version is the one trained on."""
    data = preprocess.load_bundled_dataset()
    for version, rows in (("2026-01-01", 120), ("2026-03-01", 150), ("2026-02-01", 130)):
        (tmp_path / "in" / version).mkdir(parents=True)
        data.head(rows).to_csv(tmp_path / "in" / version / "part.csv", index=False)
    data.head(100).to_csv(tmp_path / "in" / "loose.csv", index=False)  # ignored: version folders exist
    assert preprocess.main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
                            "--input-uri", "s3://bucket/churn/data"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest" / "manifest.json").read_text())
    assert manifest == {"data_version": "2026-03-01", "data_uri": "s3://bucket/churn/data/2026-03-01/",
                        "rows": {"input": 150, **{n: manifest["rows"][n] for n in preprocess.SPLITS}}}
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


def test_baseline_file_is_the_training_split_as_the_endpoint_captures_it(splits):
    """Model Monitor's baseline must look like captured text/csv: no header, no label, serving column order."""
    from sklearn.datasets import load_breast_cancer

    lines = (splits / "baseline" / "baseline.csv").read_text().splitlines()
    train = pd.read_csv(splits / "train" / "train.csv")
    assert len(lines) == len(train)  # no header row: every line is a record
    rows = [tuple(float(v) for v in line.split(",")) for line in lines]  # a header would not parse as numbers
    features = load_breast_cancer().data  # what deploy/smoke_test.py sends, in its column order
    assert {len(r) for r in rows} == {features.shape[1]} == {train.shape[1] - 1}  # the label is gone
    known = {tuple(float(v) for v in row) for row in features}
    assert set(rows) <= known  # each record is a request row, column for column
    assert rows == [tuple(r) for r in train.drop(columns=[preprocess.LABEL]).itertuples(index=False)]
