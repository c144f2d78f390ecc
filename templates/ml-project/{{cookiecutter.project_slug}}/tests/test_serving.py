"""The inference app (serving/app.py) against models of every problem type fitted in a tmp dir (test_inference.fit)
and against the model train.py writes from the bundled data (conftest.py)."""

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_inference import NAMES, PROBLEM_TYPES, fit, records_of, synthetic

from serving import app as serving_app


def client_for(model_dir, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setattr(serving_app, "holder", serving_app.ModelHolder())
    return TestClient(serving_app.app)


@pytest.fixture(scope="module", params=PROBLEM_TYPES)
def fitted(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    fit(request.param, out)
    return out


@pytest.fixture()
def client(fitted, monkeypatch):
    return client_for(fitted, monkeypatch)


@pytest.fixture(scope="module")
def rows():
    return synthetic(5, seed=4)[0]


def test_ping_healthy(client):
    assert client.get("/ping").status_code == 200


def test_ping_unhealthy_without_model(tmp_path, monkeypatch):
    response = client_for(tmp_path, monkeypatch).get("/ping")
    assert response.status_code == 503
    assert "schema.json" in response.json()["error"]
    invoked = client_for(tmp_path, monkeypatch).post("/invocations", json={"instances": [[1]]})
    assert invoked.status_code == 503


def test_the_bundled_model_scores_its_held_out_rows(model_dir, splits, monkeypatch):
    client = client_for(model_dir, monkeypatch)
    schema = json.loads((model_dir / "schema.json").read_text())
    frame = pd.read_csv(splits / "test" / "test.csv").iloc[:5]
    features = frame[[f["name"] for f in schema["features"]]]
    by_csv = client.post("/invocations", content=features.to_csv(header=False, index=False),
                         headers={"Content-Type": "text/csv"})
    by_records = client.post("/invocations", json={"instances": features.to_dict(orient="records")})
    assert by_csv.status_code == by_records.status_code == 200
    assert by_csv.json() == by_records.json() and len(by_csv.json()["predictions"]) == 5


def test_csv_json_and_header_give_one_answer_in_the_problem_types_shape(client, fitted, rows):
    problem_type = json.loads((fitted / "schema.json").read_text())["problem_type"]
    answers = [client.post("/invocations", content=rows.to_csv(header=header, index=False),
                           headers={"Content-Type": "text/csv"}) for header in (False, True)]
    answers.append(client.post("/invocations", json={"instances": records_of(rows)}))
    answers.append(client.post("/invocations", json=[list(r.values()) for r in records_of(rows)]))
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    keys = {"value"} if problem_type == "regression" else {"label", "score"}
    assert [set(p) for p in answers[0].json()["predictions"]] == [keys] * 5
    as_csv = client.post("/invocations", content=rows.to_csv(header=False, index=False),
                         headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert len(as_csv.text.strip().splitlines()) == 5
    assert all(len(line.split(",")) == len(keys) for line in as_csv.text.strip().splitlines())


def _bad_payloads():
    """(case, content type, body, the column the error must name or None)."""
    good = {"age": 30, "plan": "a", "income": 2.5, "region": "north"}

    def rec(**changes):
        return json.dumps([{**{k: v for k, v in good.items() if k not in changes}, **changes}])

    def row(first):
        return '{"instances": [[' + first + ', "a", 2.5, "north"]]}'

    return [
        ("json NaN", "application/json", row("NaN"), "age"),
        ("json Infinity", "application/json", row("Infinity"), "age"),
        ("json -Infinity", "application/json", row("-Infinity"), "age"),
        ("json 1e400", "application/json", row("1e400"), "age"),
        ("json string feature", "application/json", row('"abc"'), "age"),
        ("json bool feature", "application/json", row("true"), "age"),
        ("json nested list", "application/json", row("[1]"), "age"),
        ("json object feature", "application/json", row('{"a": 1}'), "age"),
        ("json huge integer", "application/json", row("9" * 400), "age"),
        ("json over-long integer", "application/json", row("9" * 5000), None),
        ("json record string number", "application/json", rec(income="2.5"), "income"),
        ("json record number category", "application/json", rec(plan=1), "plan"),
        ("json record bool category", "application/json", rec(plan=True), "plan"),
        ("json record list", "application/json", rec(income=[1, 2]), "income"),
        ("json record missing column", "application/json", json.dumps([{"age": 1, "plan": "a", "income": 1}]),
         "region"),
        ("json record unknown column", "application/json", rec(colour="red"), "colour"),
        ("json record label", "application/json", rec(target=1), "target"),
        ("json deep nesting", "application/json", "[" * 100000 + "]" * 100000, None),
        ("json not json", "application/json", "{not json", None),
        ("json empty body", "application/json", "", None),
        ("json scalar", "application/json", "42", None),
        ("json string", "application/json", '"hello"', None),
        ("json empty object", "application/json", "{}", None),
        ("json instances null", "application/json", '{"instances": null}', None),
        ("json instances empty", "application/json", '{"instances": []}', None),
        ("json mixed rows", "application/json", '{"instances": [[1, "a", 1, "x"], {"age": 1}]}', None),
        ("json short row", "application/json", '{"instances": [[1, 2]]}', None),
        ("json long row", "application/json", '{"instances": [[1, "a", 1, "x", 5]]}', None),
        ("json invalid utf-8", "application/json", b'{"instances": [[\xff\xfe]]}', None),
        ("csv NaN", "text/csv", "nan,a,2.5,north", "age"),
        ("csv inf", "text/csv", "30,a,inf,north", "income"),
        ("csv -Infinity", "text/csv", "-Infinity,a,2.5,north", "age"),
        ("csv 1e400", "text/csv", "30,a,1e400,north", "income"),
        ("csv text in a number", "text/csv", "abc,a,2.5,north", "age"),
        ("csv short row", "text/csv", "1,2,3", None),
        ("csv long row", "text/csv", "30,a,2.5,north,1", None),
        ("csv invalid utf-8", "text/csv", b"\xff\xfe,a,2.5,north", None),
        ("csv NUL byte", "text/csv", "1\x00,a,2.5,north", "age"),
        ("csv only blank lines", "text/csv", "\n\n \n", None),
        ("csv header only", "text/csv", ",".join(NAMES), None),
        ("csv header then text", "text/csv", ",".join(NAMES) + "\nx,a,1,1", "age"),
        ("csv header unknown column", "text/csv", "age,plan,income,colour\n1,a,1,x", "colour"),
        ("csv unterminated quote", "text/csv", '"30,a,2.5,north', None),
        ("unsupported type", "image/png", b"\x89PNG", None),
    ]


def test_every_malformed_request_is_a_4xx_naming_the_column(client):
    cases = _bad_payloads()
    assert len(cases) >= 44
    failures = []
    for case, content_type, body, column in cases:
        response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
        error = response.json().get("error", "") if response.headers["content-type"].startswith("application/json") \
            else ""
        if not 400 <= response.status_code < 500 or not error or (column and f"'{column}'" not in error):
            failures.append((case, response.status_code, response.text[:200]))
    assert not failures
    assert client.post("/invocations", content=b"x", headers={"Content-Type": "image/png"}).status_code == 415


def test_missing_values_are_scored(client):
    response = client.post("/invocations", content="30,,,\n,b,1.5,\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 2
    nulls = client.post("/invocations", json=[{"age": None, "plan": None, "income": None, "region": None}])
    assert nulls.status_code == 200


def test_body_over_the_limit_is_413_and_the_limit_is_configurable(client, rows, monkeypatch):
    assert serving_app.DEFAULT_MAX_BODY == 6291456  # SageMaker InvokeEndpoint Body maximum
    small = rows.to_csv(header=False, index=False).encode()
    big = small * (6291456 // len(small) + 1)
    assert len(big) > 6291456
    response = client.post("/invocations", content=big, headers={"Content-Type": "text/csv"})
    assert response.status_code == 413 and "6291456" in response.json()["error"]
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", str(len(small) - 1))
    assert client.post("/invocations", content=small, headers={"Content-Type": "text/csv"}).status_code == 413
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", str(len(small)))
    assert client.post("/invocations", content=small, headers={"Content-Type": "text/csv"}).status_code == 200


def test_streamed_body_over_the_limit_is_413(client, rows, monkeypatch):
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", "1000")

    def chunks():
        for _ in range(100):
            yield rows.to_csv(header=False, index=False).encode()

    response = client.post("/invocations", content=chunks(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 413
