"""inference.py: the serving hooks that travel inside model.tar.gz answer what serving/app.py answers."""

import json

import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import inference


@pytest.fixture(scope="module")
def model(model_dir):
    return inference.model_fn(str(model_dir))


@pytest.fixture(scope="module")
def rows(splits):
    return pd.read_csv(next((splits / "test").glob("*.csv"))).iloc[:4, 1:]


def invoke(model, body, content_type, accept="application/json"):
    return inference.output_fn(inference.predict_fn(inference.input_fn(body, content_type), model), accept)


def test_csv_without_header_and_json_instances_give_the_same_predictions(model, rows):
    csv_body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows.to_numpy().tolist()).encode()
    by_csv, kind = invoke(model, csv_body, "text/csv")
    assert kind == "application/json"
    by_lists, _ = invoke(model, json.dumps({"instances": rows.to_numpy().tolist()}), "application/json")
    by_records, _ = invoke(model, json.dumps({"instances": rows.to_dict(orient="records")}), "application/json")
    assert json.loads(by_csv) == json.loads(by_lists) == json.loads(by_records)
    predictions = json.loads(by_csv)["predictions"]
    expected = model.predict_proba(rows)[:, 1]
    assert [p["score"] for p in predictions] == pytest.approx(list(expected))
    assert [p["label"] for p in predictions] == [int(s >= 0.5) for s in expected]


def test_csv_answer_when_csv_is_accepted(model, rows):
    body, kind = invoke(model, json.dumps({"instances": rows.to_numpy().tolist()}), "application/json", "text/csv")
    assert kind == "text/csv"
    lines = body.splitlines()
    assert len(lines) == 4 and all(line.split(",")[0] in ("0", "1") for line in lines)


@pytest.mark.parametrize("body,content_type", [
    ("", "text/csv"), ("1,2,x", "text/csv"), ('{"instances": []}', "application/json"),
    ('{"instances": [[NaN]]}', "application/json"), ("[1, 2]", "application/x-npy"),
])
def test_bad_requests_are_value_errors(model, body, content_type):
    with pytest.raises(ValueError):
        invoke(model, body, content_type)
{%- if cookiecutter.maturity_level|int >= 1 %}


def test_same_body_as_the_projects_own_container(model_dir, rows, monkeypatch):
    """One serving artefact: the package's framework container (inference.py) and the project's image
    (serving/app.py) answer byte-for-byte the same body for the same request."""
    from fastapi.testclient import TestClient

    from serving import app as serving

    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setattr(serving, "holder", serving.ModelHolder())
    client = TestClient(serving.app)
    payload = json.dumps({"instances": rows.to_numpy().tolist()})
    model = inference.model_fn(str(model_dir))
    for accept in ("application/json", "text/csv"):
        served = client.post("/invocations", content=payload,
                             headers={"content-type": "application/json", "accept": accept})
        assert served.status_code == 200
        body, kind = invoke(model, payload, "application/json", accept)
        assert served.headers["content-type"].split(";")[0] == kind
        assert served.text == body
{%- endif %}
