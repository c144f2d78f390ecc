"""Property: the ML project's serving app (templates/ml-project/.../serving/app.py with the package's inference.py and
predictor.py, rendered as a baked repository holds them, with a tiny fitted model of numerical and categorical
features) never answers 5xx to a malformed request; well-formed ones are still scored. And the sandbox's emulated
framework container imports the shipped code/inference.py with its sibling predictor.py, as the real container
does (SAGEMAKER_SUBMIT_DIRECTORY on sys.path)."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TEMPLATE = Path(__file__).resolve().parent.parent / "templates/ml-project/{{cookiecutter.project_slug}}"
PKG_DIR = TEMPLATE / "src/{{cookiecutter.__package_name}}"
NAMES = ["age", "plan", "tenure"]
SCHEMA = {"version": 1, "problem_type": "binary", "label": "target", "drop": [], "classes": [0, 1],
          "features": [{"name": "age", "type": "numerical"},
                       {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]},
                       {"name": "tenure", "type": "numerical"}]}


def fit_model(model_dir: Path, problem_type: str = "binary") -> None:
    """model.joblib (the template's pipeline shape: imputers, scaler, one-hot, estimator) and schema.json."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x = pd.DataFrame([[20, "basic", 3], [30, "pro", 1], [40, "basic", 7], [50, "pro", 2]], columns=NAMES)
    encode = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "tenure"]),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="__missing__"),
                              OneHotEncoder(handle_unknown="ignore")), ["plan"])])
    schema = dict(SCHEMA, problem_type=problem_type)
    if problem_type == "regression":
        y, estimator = [1.5, 2.5, 3.5, 4.5], LinearRegression()
        del schema["classes"]
    elif problem_type == "multiclass":
        y, estimator, schema["classes"] = ["a", "b", "c", "a"], LogisticRegression(), ["a", "b", "c"]
    else:
        y, estimator = [0, 1, 0, 1], LogisticRegression()
    joblib.dump(make_pipeline(encode, estimator).fit(x, y), model_dir / "model.joblib")
    (model_dir / "schema.json").write_text(json.dumps(schema))


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    package = root / "src" / "servepkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name in ("inference.py", "predictor.py"):
        shutil.copyfile(PKG_DIR / name, package / name)
    (root / "serving").mkdir()
    (root / "serving" / "__init__.py").write_text("")
    app = (TEMPLATE / "serving" / "app.py").read_text()
    app = app.replace("{{ cookiecutter.__package_name }}", "servepkg").replace("{{ cookiecutter.project_name }}", "x")
    (root / "serving" / "app.py").write_text(app)
    model_dir = tmp_path_factory.mktemp("model")
    fit_model(model_dir)
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(root / "src"))
    mp.syspath_prepend(str(root))
    mp.setenv("MODEL_DIR", str(model_dir))
    for name in ("serving", "serving.app"):
        mp.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("serving.app")
    module.holder = module.ModelHolder()
    yield module, TestClient(module.app, raise_server_exceptions=False)
    for name in ("serving", "serving.app", "servepkg", "servepkg.inference", "servepkg.predictor"):
        sys.modules.pop(name, None)
    mp.undo()


def test_well_formed_requests_are_scored(serving):
    _, client = serving
    response = client.post("/invocations", json={"instances": [[25, "pro", 2], [45, None, None]]})
    assert response.status_code == 200
    assert [set(p) for p in response.json()["predictions"]] == [{"label", "score"}] * 2
    csv = client.post("/invocations", content="age,plan,tenure\n25,basic,2\n", headers={"Content-Type": "text/csv"})
    assert csv.status_code == 200 and len(csv.json()["predictions"]) == 1
    records = client.post("/invocations", json=[{"age": 25, "plan": "basic", "tenure": 2}])
    assert records.json() == csv.json()


def test_violations_are_400_naming_the_column(serving):
    _, client = serving
    cases = {"plan": [{"age": 25, "plan": 3, "tenure": 2}], "tenure": [{"age": 25, "plan": "pro"}],
             "colour": [{"age": 25, "plan": "pro", "tenure": 2, "colour": "red"}],
             "age": [{"age": "25", "plan": "pro", "tenure": 2}]}
    for column, body in cases.items():
        response = client.post("/invocations", json=body)
        assert response.status_code == 400 and f"'{column}'" in response.json()["error"], (column, response.text)
    nan = client.post("/invocations", content='[[NaN, "pro", 2]]', headers={"Content-Type": "application/json"})
    assert nan.status_code == 400 and "'age'" in nan.json()["error"]


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
    st.lists(st.tuples(numbers, st.one_of(st.none(), st.text(max_size=5), numbers), numbers).map(list),
             min_size=1, max_size=3).map(lambda rows: json_body({"instances": rows})),
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
    row = b"25,pro,2\n"
    body = row * (6291456 // len(row) + 1)
    assert client.post("/invocations", content=body, headers={"Content-Type": "text/csv"}).status_code == 413
    monkeypatch.setenv("SERVING_MAX_BODY_BYTES", str(2 * len(row)))
    assert client.post("/invocations", content=row * 2, headers={"Content-Type": "text/csv"}).status_code == 200
    assert client.post("/invocations", content=row * 3, headers={"Content-Type": "text/csv"}).status_code == 413


@pytest.mark.parametrize("problem_type,keys", [("binary", {"label", "score"}), ("multiclass", {"label", "score"}),
                                               ("regression", {"value"})])
def test_the_emulated_framework_container_imports_predictor_next_to_inference(tmp_path, monkeypatch, problem_type,
                                                                               keys):
    """sagemaker-scikit-learn-container / sagemaker-xgboost-container import SAGEMAKER_PROGRAM from
    SAGEMAKER_SUBMIT_DIRECTORY with that directory on sys.path; train.py ships inference.py and predictor.py in
    <model_dir>/code/, so `import predictor` inside inference.py resolves there (no package). Every problem type
    answers its shape."""
    from modules.sandbox.services.sagemaker import framework_serving

    fit_model(tmp_path, problem_type)
    code = tmp_path / "code"
    code.mkdir()
    for name in ("inference.py", "predictor.py"):
        shutil.copyfile(PKG_DIR / name, code / name)
    for name in ("inference", "predictor"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_module prepends code/
    handlers = framework_serving.Handlers(framework_serving.load_module("inference.py", str(code)), str(tmp_path))
    data = handlers.input_fn(b'{"instances": [{"age": 33, "plan": "pro", "tenure": null}]}', "application/json")
    body, kind = handlers.output_fn(handlers.predict_fn(data), "application/json")
    assert kind == "application/json" and set(json.loads(body)["predictions"][0]) == keys
    lines, kind = handlers.output_fn(handlers.predict_fn(handlers.input_fn(b"33,pro,\n20,,3\n", "text/csv")),
                                     "text/csv")
    assert kind == "text/csv" and [len(line.split(",")) for line in lines.splitlines()] == [len(keys)] * 2
    with pytest.raises(ValueError, match="column 'plan'"):  # the real sklearn container answers 500 with it logged
        handlers.predict_fn(handlers.input_fn(b'[{"age": 1, "plan": 2, "tenure": 1}]', "application/json"))
    for name in ("inference", "predictor"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("framework,status", [("xgboost", 400), ("sklearn", 500)])
def test_a_refused_request_through_each_emulated_framework_container(tmp_path, framework, status):
    """sagemaker-xgboost-container serves the user module through sagemaker-inference-toolkit, whose Transformer
    answers a raised BaseInferenceToolkitError with its status_code: inference.RequestError derives from it there,
    so the caller gets 400 naming the column. sagemaker-scikit-learn-container (sagemaker-containers' Flask worker)
    answers any hook exception with 500 - the limit the project's own container (serving/app.py) does not have."""
    import socket
    import subprocess
    import time
    import urllib.error
    import urllib.request

    from modules.sandbox.services.sagemaker import framework_serving

    fit_model(tmp_path)
    code = tmp_path / "code"
    code.mkdir()
    for name in ("inference.py", "predictor.py"):
        shutil.copyfile(PKG_DIR / name, code / name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": str(code),
           "SM_MODEL_DIR": str(tmp_path), "SANDBOX_FRAMEWORK_CONTAINER": framework}
    process = subprocess.Popen([sys.executable, framework_serving.__file__, "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/ping", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()[-500:]
                time.sleep(0.05)

        def post(body: bytes):
            request = urllib.request.Request(f"{url}/invocations", data=body,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        ok, answer = post(b'[{"age": 33, "plan": "pro", "tenure": null}]')
        assert ok == 200 and set(json.loads(answer)["predictions"][0]) == {"label", "score"}
        code_, message = post(b'[{"age": 33, "plan": 3, "tenure": 1}]')
        assert code_ == status
        assert ("column 'plan'" in message) == (framework == "xgboost")  # Flask's generic 500 page for sklearn
    finally:
        process.terminate()
        log = process.communicate(timeout=10)[0].decode()
    assert "column 'plan'" in log  # the container log (CloudWatch) has the reason either way
