"""Shared fixtures: the data splits and a trained model, built once per test session in a tmp dir."""

import pytest

from {{ cookiecutter.__package_name }} import preprocess, train


@pytest.fixture(scope="session")
def splits(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    preprocess.run(None, out, sample_fallback=True)
    return out


@pytest.fixture(scope="session")
def model_dir(splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    train.run(splits / "train", out, splits / "validation")
    return out
