"""inference.py: requests validated against the resolved schema for every problem type; the hooks travel inside
model.tar.gz and answer what serving/app.py answers.

Small models of every problem type are fitted here on synthetic data with numerical and categorical columns and
missing values (the pipeline predictor.py documents: imputers, scaler, one-hot encoder, estimator), written as
model.joblib + schema.json and loaded through predictor.load - the same path the endpoint takes."""

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import inference, predictor

FEATURES = [{"name": "age", "type": "numerical"}, {"name": "plan", "type": "categorical", "categories": ["a", "b", "c"]},
            {"name": "income", "type": "numerical"},
            {"name": "region", "type": "categorical", "categories": ["1", "2", "north"]}]
NAMES = [f["name"] for f in FEATURES]
PROBLEM_TYPES = ("binary", "multiclass", "regression")


def synthetic(n: int = 240, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (some missing) and a signal the label is derived from."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n).round(1),
        "plan": rng.choice(["a", "b", "c"], n).astype(object),
        "income": rng.normal(3.0, 1.0, n),
        "region": rng.choice(["1", "2", "north"], n).astype(object),
    })
    signal = (frame["age"] - 40) / 10 + (frame["plan"] == "c") * 1.5 - frame["income"] + 3.0
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan
    frame.loc[rng.random(n) < 0.1, "region"] = None
    return frame, signal.to_numpy()


def fit(problem_type: str, out) -> predictor.Predictor:
    """model.joblib + schema.json of a small model in `out`; returns predictor.load(out)."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, signal = synthetic()
    schema = {"version": 1, "problem_type": problem_type, "label": "target", "drop": ["customer_id"],
              "features": FEATURES}
    if problem_type == "binary":
        y, estimator, schema["classes"] = (signal > 0).astype(int), LogisticRegression(max_iter=1000), [0, 1]
    elif problem_type == "multiclass":
        y = np.where(signal > 1, "high", np.where(signal < -1, "low", "mid")).astype(object)
        estimator, schema["classes"] = LogisticRegression(max_iter=1000), ["high", "low", "mid"]
    else:
        y, estimator = signal * 10 + 100, Ridge()
    numerical = [f["name"] for f in FEATURES if f["type"] == "numerical"]
    categorical = [f["name"] for f in FEATURES if f["type"] == "categorical"]
    encode = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numerical),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"),
                              OneHotEncoder(handle_unknown="ignore")), categorical)])
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(make_pipeline(encode, estimator).fit(frame, y), out / "model.joblib")
    (out / "schema.json").write_text(json.dumps(schema))
    return inference.model_fn(str(out))


@pytest.fixture(scope="module", params=PROBLEM_TYPES)
def model(request, tmp_path_factory):
    return fit(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def rows():
    frame, _ = synthetic(8, seed=9)
    frame.loc[0, "income"], frame.loc[1, "region"] = np.nan, None  # missing values in the request
    return frame


def csv_of(frame: pd.DataFrame, header: bool = False) -> str:
    return frame.to_csv(header=header, index=False)


def records_of(frame: pd.DataFrame) -> list:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]


def same(predictions: list, expected: list) -> bool:
    """Equal labels, values and scores equal to 1e-9 (what JSON round-trips)."""
    return len(predictions) == len(expected) and all(
        set(p) == set(e) and all(p[k] == e[k] if k == "label" else p[k] == pytest.approx(e[k], abs=1e-9) for k in e)
        for p, e in zip(predictions, expected, strict=True))


def invoke(model, body, content_type, accept="application/json"):
    return inference.invoke(model, body, content_type, accept)


def test_every_request_format_gives_the_predictors_answer(model, rows):
    expected = model.predict(rows)
    answers = [
        invoke(model, csv_of(rows).encode(), "text/csv"),
        invoke(model, csv_of(rows, header=True), "text/csv; charset=utf-8"),
        invoke(model, json.dumps({"instances": records_of(rows)}), "application/json"),
        invoke(model, json.dumps({"instances": [list(r.values()) for r in records_of(rows)]}), "application/json"),
        invoke(model, json.dumps(records_of(rows)), None),  # a bare list, default content type
    ]
    assert {kind for _, kind in answers} == {"application/json"}
    bodies = [json.loads(body) for body, _ in answers]
    assert all(b == bodies[0] for b in bodies)
    assert same(bodies[0]["predictions"], expected)
    keys = {"regression": {"value"}}.get(model.problem_type, {"label", "score"})
    assert all(set(p) == keys for p in bodies[0]["predictions"])
    if model.problem_type != "regression":
        assert {p["label"] for p in bodies[0]["predictions"]} <= set(model.schema["classes"])
        assert all(0.0 <= p["score"] <= 1.0 for p in bodies[0]["predictions"])


def test_missing_values_are_imputed_not_refused(model, rows):
    one = rows.iloc[[0]].copy()
    one["income"], one["region"] = np.nan, None
    by_csv = json.loads(invoke(model, "41.0,b,,\n", "text/csv")[0])["predictions"]
    by_json = json.loads(invoke(model, json.dumps([{"age": 41.0, "plan": "b", "income": None, "region": None}]),
                                "application/json")[0])["predictions"]
    empty_category = json.loads(invoke(model, json.dumps([[41.0, "b", None, ""]]), "application/json")[0])
    assert by_csv == by_json == empty_category["predictions"]
    frame = pd.DataFrame([{"age": 41.0, "plan": "b", "income": np.nan, "region": None}])
    assert same(by_csv, model.predict(frame))


def test_csv_answer_per_problem_type(model, rows):
    body, kind = invoke(model, csv_of(rows), "text/csv", accept="text/csv")
    assert kind == "text/csv"
    lines = body.splitlines()
    assert len(lines) == len(rows)
    expected = model.predict(rows)
    if model.problem_type == "regression":
        assert [float(line) for line in lines] == pytest.approx([p["value"] for p in expected])
    else:
        parsed = [line.split(",") for line in lines]
        assert [label for label, _ in parsed] == [str(p["label"]) for p in expected]
        assert [float(score) for _, score in parsed] == pytest.approx([p["score"] for p in expected], abs=1e-6)


def test_a_dropped_column_is_ignored_and_a_categorical_cell_in_csv_is_text(model):
    with_id = json.loads(invoke(model, json.dumps([{"customer_id": "c-17", "age": 30, "plan": "a", "income": 2.5,
                                                    "region": "2"}]), "application/json")[0])
    plain = json.loads(invoke(model, "30,a,2.5,2\n", "text/csv")[0])  # region 2 is the category "2"
    assert with_id == plain
    assert same(plain["predictions"], model.predict(pd.DataFrame(
        [{"age": 30.0, "plan": "a", "income": 2.5, "region": "2"}])))


GOOD = {"age": 30, "plan": "a", "income": 2.5, "region": "north"}


def record(**changes) -> str:
    return json.dumps([{**{k: v for k, v in GOOD.items() if k not in changes or changes[k] != ...},
                        **{k: v for k, v in changes.items() if v != ...}}])


# (case, content type, body, what the message must say)
REFUSED = [
    ("missing column", "application/json", record(income=...), "missing column 'income' in row 0"),
    ("unknown column", "application/json", record(colour="red"), "unknown column 'colour' in row 0"),
    ("the label as a feature", "application/json", record(target=1), "'target' (the label"),
    ("string in a numerical column", "application/json", record(age="30"), "column 'age' (row 0) is numerical"),
    ("bool in a numerical column", "application/json", record(age=True), "column 'age' (row 0) is numerical"),
    ("number in a categorical column (JSON)", "application/json", record(region=2),
     "column 'region' (row 0) is categorical"),
    ("list in a categorical column", "application/json", record(plan=["a"]), "column 'plan' (row 0) is categorical"),
    ("NaN literal", "application/json", '[{"age": NaN, "plan": "a", "income": 1, "region": "1"}]',
     "column 'age' (row 0) is numerical: got NaN"),
    ("Infinity in a row list", "application/json", '{"instances": [[1, "a", -Infinity, "1"]]}',
     "column 'income' (row 0)"),
    ("1e400", "application/json", '[[1e400, "a", 1, "1"]]', "column 'age' (row 0)"),
    ("huge integer", "application/json", "[[" + "9" * 400 + ', "a", 1, "1"]]', "column 'age' (row 0)"),
    ("NaN literal as a category", "application/json", '[[1, NaN, 1, "1"]]', "column 'plan' (row 0) is categorical"),
    ("short row", "application/json", '[[1, "a", 1]]', "row 0 has 3 values; the schema has 4 columns"),
    ("text in a numerical CSV cell", "text/csv", "30,a,2.5,north\nabc,a,1,1\n", "column 'age' (row 1) is numerical"),
    ("nan in a CSV cell", "text/csv", "30,a,nan,north\n", "column 'income' (row 0) is numerical"),
    ("inf in a CSV cell", "text/csv", "inf,a,1,north\n", "column 'age' (row 0)"),
    ("long CSV row", "text/csv", "30,a,2.5,north,1\n", "row 0 has 5 values"),
    ("CSV header with an unknown column", "text/csv", "age,plan,income,colour\n1,a,1,x\n", "unknown column 'colour'"),
    ("CSV header missing a column", "text/csv", "age,plan,income\n1,a,1\n", "missing column 'region'"),
    ("only a header", "text/csv", "age,plan,income,region\n", "only a header"),
    ("invalid UTF-8", "text/csv", b"\xff\xfe,a,1,1", "UTF-8"),
    ("deep JSON", "application/json", "[" * 100000 + "]" * 100000, "nested too deeply"),
    ("empty instances", "application/json", '{"instances": []}', "JSON must be"),
    ("mixed rows", "application/json", '[[1, "a", 1, "1"], {"age": 1}]', "must all be records"),
    ("blank CSV", "text/csv", "\n \n", "no rows"),
]


@pytest.mark.parametrize("case,content_type,body,message", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_requests_name_the_column(model, case, content_type, body, message):
    with pytest.raises(inference.RequestError) as exc:
        invoke(model, body, content_type)
    assert exc.value.status_code == 400
    assert message in str(exc.value), str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_unsupported_content_type_is_415(model):
    with pytest.raises(inference.RequestError) as exc:
        invoke(model, b"\x89PNG", "image/png")
    assert exc.value.status_code == 415 and "text/csv or application/json" in str(exc.value)


def test_the_hooks_import_predictor_as_a_sibling_module_as_in_the_container(model_dir, monkeypatch):
    """The framework container imports code/inference.py as the top-level module `inference` with code/ on
    sys.path (SAGEMAKER_SUBMIT_DIRECTORY): train.py must ship predictor.py next to it."""
    code = model_dir / "code"
    assert (code / "inference.py").is_file() and (code / "predictor.py").is_file()
    monkeypatch.syspath_prepend(str(code))
    for name in ("inference", "predictor"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    spec = importlib.util.spec_from_file_location("inference", code / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = module.model_fn(str(model_dir))
    names = [f["name"] for f in loaded.schema["features"]]
    row = json.dumps({"instances": [[None] * len(names)]})  # all missing: imputed
    body, kind = module.output_fn(module.predict_fn(module.input_fn(row, "application/json"), loaded), "")
    assert kind == "application/json" and len(json.loads(body)["predictions"]) == 1
{%- if cookiecutter.maturity_level|int >= 1 %}


def test_same_bytes_as_the_projects_own_container(model, rows, tmp_path, monkeypatch):
    """One serving artefact: the package's framework container (inference.py) and the project's image
    (serving/app.py) answer byte-for-byte the same body, and the same refusal, for the same request."""
    from fastapi.testclient import TestClient

    from serving import app as serving

    model_dir = tmp_path / "model"
    fit(model.problem_type, model_dir)
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    monkeypatch.setattr(serving, "holder", serving.ModelHolder())
    client = TestClient(serving.app)
    payload = json.dumps({"instances": records_of(rows)})
    for accept in ("application/json", "text/csv"):
        served = client.post("/invocations", content=payload,
                             headers={"content-type": "application/json", "accept": accept})
        assert served.status_code == 200
        body, kind = invoke(model, payload, "application/json", accept)
        assert served.headers["content-type"].split(";")[0] == kind
        assert served.text == body
    refused = client.post("/invocations", content=record(age="x"), headers={"content-type": "application/json"})
    with pytest.raises(inference.RequestError) as exc:
        invoke(model, record(age="x"), "application/json")
    assert refused.status_code == 400 and refused.json() == {"error": str(exc.value)}
{%- endif %}
