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


def _bad_payloads(row, names):
    """(case, content type, body): requests a SageMaker client could send that the model cannot score."""
    n = len(row)
    csv_row = ",".join(str(v) for v in row)
    json_row = "[" + csv_row + "]"
    record = dict(zip(names, row, strict=True))

    def with_first(value):
        return "[" + ",".join([value] + [str(v) for v in row[1:]]) + "]"

    def record_with(value):
        return "{" + ",".join([f'"{names[0]}": {value}'] + [f'"{k}": {v}' for k, v in list(record.items())[1:]]) + "}"

    cases = [
        ("json NaN", "application/json", '{"instances": [' + with_first("NaN") + "]}"),
        ("json Infinity", "application/json", '{"instances": [' + with_first("Infinity") + "]}"),
        ("json -Infinity", "application/json", '{"instances": [' + with_first("-Infinity") + "]}"),
        ("json 1e400", "application/json", '{"instances": [' + with_first("1e400") + "]}"),
        ("json null feature", "application/json", '{"instances": [' + with_first("null") + "]}"),
        ("json string feature", "application/json", '{"instances": [' + with_first('"abc"') + "]}"),
        ("json bool feature", "application/json", '{"instances": [' + with_first("true") + "]}"),
        ("json nested list", "application/json", '{"instances": [' + with_first("[1]") + "]}"),
        ("json object feature", "application/json", '{"instances": [' + with_first('{"a": 1}') + "]}"),
        ("json huge integer", "application/json", '{"instances": [' + with_first("9" * 400) + "]}"),
        ("json over-long integer", "application/json", '{"instances": [' + with_first("9" * 5000) + "]}"),
        ("json record null", "application/json", "[" + record_with("null") + "]"),
        ("json record NaN", "application/json", "[" + record_with("NaN") + "]"),
        ("json record 1e400", "application/json", "[" + record_with("1e400") + "]"),
        ("json record list", "application/json", "[" + record_with("[1, 2]") + "]"),
        ("json record huge int", "application/json", "[" + record_with("9" * 400) + "]"),
        ("json record missing", "application/json", '[{"x": 1}]'),
        ("json deep nesting", "application/json", "[" * 100000 + "]" * 100000),
        ("json not json", "application/json", "{not json"),
        ("json empty body", "application/json", ""),
        ("json scalar", "application/json", "42"),
        ("json string", "application/json", '"hello"'),
        ("json empty object", "application/json", "{}"),
        ("json instances null", "application/json", '{"instances": null}'),
        ("json instances empty", "application/json", '{"instances": []}'),
        ("json mixed rows", "application/json", '{"instances": [' + json_row + ', {"a": 1}]}'),
        ("json short row", "application/json", '{"instances": [[1, 2]]}'),
        ("json long row", "application/json", '{"instances": [' + with_first(",".join(["1"] * n)) + "]}"),
        ("json invalid utf-8", "application/json", b'{"instances": [[\xff\xfe]]}'),
        ("csv NaN", "text/csv", "nan," + ",".join(str(v) for v in row[1:])),
        ("csv inf", "text/csv", "inf," + ",".join(str(v) for v in row[1:])),
        ("csv -Infinity", "text/csv", "-Infinity," + ",".join(str(v) for v in row[1:])),
        ("csv 1e400", "text/csv", "1e400," + ",".join(str(v) for v in row[1:])),
        ("csv text", "text/csv", "abc," + ",".join(str(v) for v in row[1:])),
        ("csv empty cell", "text/csv", "," + ",".join(str(v) for v in row[1:])),
        ("csv short row", "text/csv", "1,2,3"),
        ("csv long row", "text/csv", csv_row + ",1"),
        ("csv invalid utf-8", "text/csv", b"\xff\xfe," + csv_row.encode()),
        ("csv NUL byte", "text/csv", "1\x00," + csv_row),
        ("csv only blank lines", "text/csv", "\n\n \n"),
        ("csv header only", "text/csv", ",".join(names)),
        ("csv header then text", "text/csv", ",".join(names) + "\n" + ",".join(["x"] * n)),
        ("csv unterminated quote", "text/csv", '"' + csv_row),
        ("unsupported type", "image/png", b"\x89PNG"),
    ]
    return cases


def test_every_malformed_request_is_a_4xx_with_the_reason(client, test_rows):
    x, _ = test_rows
    row = [float(v) for v in x.values[0]]
    names = list(x.columns)
    cases = _bad_payloads(row, names)
    assert len(cases) >= 44
    failures = []
    for case, content_type, body in cases:
        response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
        if not 400 <= response.status_code < 500 or not response.json().get("error"):
            failures.append((case, response.status_code, response.text[:200]))
    assert not failures


def test_body_over_the_limit_is_413_and_the_limit_is_configurable(client, test_rows, monkeypatch):
    x, _ = test_rows
    assert serving_app.DEFAULT_MAX_BODY == 6291456  # SageMaker InvokeEndpoint Body maximum
    big = ("\n".join([x.to_csv(header=False, index=False)] * 20000)).encode()
    assert len(big) > 6291456
    response = client.post("/invocations", content=big, headers={"Content-Type": "text/csv"})
    assert response.status_code == 413 and "6291456" in response.json()["error"]
    small = x.to_csv(header=False, index=False).encode()
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", str(len(small) - 1))
    response = client.post("/invocations", content=small, headers={"Content-Type": "text/csv"})
    assert response.status_code == 413
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", str(len(small)))
    assert client.post("/invocations", content=small, headers={"Content-Type": "text/csv"}).status_code == 200


def test_streamed_body_over_the_limit_is_413(client, test_rows, monkeypatch):
    x, _ = test_rows
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", "1000")

    def chunks():
        for _ in range(100):
            yield x.to_csv(header=False, index=False).encode()

    response = client.post("/invocations", content=chunks(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 413
