import pandas as pd

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
    written = preprocess.run(tmp_path / "in", tmp_path / "out")
    train = pd.read_csv(written["train"])
    assert list(train.columns)[0] == preprocess.LABEL
    assert sum(len(pd.read_csv(p)) for p in written.values()) == 200


def test_cli_empty_input_dir_uses_bundled_data(tmp_path):
    (tmp_path / "empty").mkdir()
    assert preprocess.main(["--input-dir", str(tmp_path / "empty"), "--output-dir", str(tmp_path / "o")]) == 0
    for name in preprocess.SPLITS:
        assert (tmp_path / "o" / name / f"{name}.csv").stat().st_size > 0
