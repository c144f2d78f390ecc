"""Property: the ML project's serving app (templates/ml-project/.../serving/app.py, imported as is, with a tiny
fitted model) never answers 5xx to a malformed request; well-formed ones are still scored."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import joblib
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

APP = Path(__file__).resolve().parent.parent / "templates/ml-project/{{cookiecutter.project_slug}}/serving/app.py"
NAMES = ["age", "income", "tenure"]


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    x = pd.DataFrame([[20, 1.0, 3], [30, 2.0, 1], [40, 3.5, 7], [50, 0.5, 2]], columns=NAMES)
    joblib.dump(LogisticRegression().fit(x, [0, 1, 0, 1]), model_dir / "model.joblib")
    spec = importlib.util.spec_from_file_location("template_serving_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mp = pytest.MonkeyPatch()
    mp.setenv("MODEL_DIR", str(model_dir))
    module.holder = module.ModelHolder()
    yield module, TestClient(module.app, raise_server_exceptions=False)
    mp.undo()


def test_well_formed_requests_are_scored(serving):
    _, client = serving
    response = client.post("/invocations", json={"instances": [[25, 1.5, 2], [45, 3.0, 6]]})
    assert response.status_code == 200
    assert [set(p) for p in response.json()["predictions"]] == [{"label", "score"}] * 2
    csv = client.post("/invocations", content="age,income,tenure\n25,1.5,2\n", headers={"Content-Type": "text/csv"})
    assert csv.status_code == 200 and len(csv.json()["predictions"]) == 1


numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10 ** 400,
                                                                                  max_value=10 ** 400))
leaf = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=10))
json_values = st.recursive(leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.sampled_from(NAMES + ["x"]), inner,
                                                                         max_size=4)), max_leaves=16)


def json_body(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(json_body),
    json_values.map(lambda v: json_body({"instances": v})),
    st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=1, max_size=3).map(
        lambda rows: json_body({"instances": rows})),
    st.lists(st.lists(st.one_of(numbers.map(str), st.text(max_size=5)), min_size=1, max_size=4), max_size=3).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8", "surrogatepass")),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, content_type=st.sampled_from(["application/json", "text/csv", "text/csv; charset=utf-8",
                                                  "application/json; charset=utf-8", "text/plain", ""]))
def test_no_request_gets_a_5xx(serving, body, content_type):
    _, client = serving
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/invocations", content=body, headers=headers)
    assert response.status_code < 500, (body[:200], response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["error"]
    else:
        assert all(set(p) == {"label", "score"} for p in response.json()["predictions"])


def test_body_limit_defaults_to_the_sagemaker_invoke_endpoint_limit(serving, monkeypatch):
    module, client = serving
    monkeypatch.delenv("SERVING_MAX_BODY_BYTES", raising=False)
    assert module.max_body_bytes() == 6291456
    body = b"25,1.5,2\n" * (6291456 // 9 + 1)
    assert client.post("/invocations", content=body, headers={"Content-Type": "text/csv"}).status_code == 413
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", "18")
    assert client.post("/invocations", content=b"25,1.5,2\n" * 2, headers={"Content-Type": "text/csv"}).status_code \
        == 200
    assert client.post("/invocations", content=b"25,1.5,2\n" * 3, headers={"Content-Type": "text/csv"}).status_code \
        == 413
