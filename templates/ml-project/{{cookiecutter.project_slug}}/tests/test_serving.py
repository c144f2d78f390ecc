"""The inference app against a model trained in a tmp dir (see conftest.py)."""

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving import app as serving_app


@pytest.fixture()
def client(model_dir, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setattr(serving_app, "holder", serving_app.ModelHolder())
    return TestClient(serving_app.app)


@pytest.fixture()
def test_rows(splits):
    frame = pd.read_csv(splits / "test" / "test.csv")
    return frame.iloc[:5, 1:], frame.iloc[:5, 0]


def test_ping_healthy(client):
    assert client.get("/ping").status_code == 200


def test_ping_unhealthy_without_model(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.setattr(serving_app, "holder", serving_app.ModelHolder())
    response = TestClient(serving_app.app).get("/ping")
    assert response.status_code == 503
    assert "model.joblib" in response.json()["error"]


def test_csv_invocation(client, test_rows):
    x, y = test_rows
    body = x.to_csv(header=False, index=False)
    response = client.post("/invocations", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 5
    assert [p["label"] for p in predictions] == list(y)  # this small slice is easy
    assert all(0.0 <= p["score"] <= 1.0 for p in predictions)


def test_csv_with_header_and_csv_accept(client, test_rows):
    x, _ = test_rows
    response = client.post("/invocations", content=x.to_csv(index=False),
                           headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert response.status_code == 200
    lines = response.text.strip().splitlines()
    assert len(lines) == 5 and all(line.split(",")[0] in {"0", "1"} for line in lines)


def test_json_invocation_lists_and_records(client, test_rows):
    x, _ = test_rows
    as_lists = client.post("/invocations", json={"instances": x.values.tolist()})
    as_records = client.post("/invocations", json=x.to_dict(orient="records"))
    assert as_lists.status_code == as_records.status_code == 200
    assert as_lists.json() == as_records.json()


def test_bad_requests(client):
    assert client.post("/invocations", content="1,2,3", headers={"Content-Type": "text/csv"}).status_code == 400
    assert client.post("/invocations", content="a,b", headers={"Content-Type": "text/csv"}).status_code == 400
    assert client.post("/invocations", json={"instances": []}).status_code == 400
    assert client.post("/invocations", content=b"x", headers={"Content-Type": "image/png"}).status_code == 415
