"""A served model answers /predict correctly, rejects malformed input with a 4xx and a clear
message, and reports /health and /metadata; the local deployer manages a background server."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from bevel import Client, Model, pipeline, step, trainer

Invoke = Callable[..., Result]


@step
def frame() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@trainer
def fit(df: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(df.drop(columns="target"), df.target)


@pipeline(model=Model("iris"))
def training() -> None:
    fit(frame())


@step
def arrays() -> np.ndarray:
    return load_iris().data


@step
def labels() -> np.ndarray:
    return load_iris().target


@trainer
def fit_arrays(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(X, y)


@pipeline(model=Model("iris_arrays"))
def training_arrays() -> None:
    fit_arrays(arrays(), labels())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(
    port: int, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, data, {"Content-Type": "application/json"})
    response = conn.getresponse()
    status, payload = response.status, json.loads(response.read())
    conn.close()
    return status, payload


@pytest.fixture(scope="module")
def served_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """`bevel models serve iris --stage production` as a real process on a free port, started
    once for the module (a server takes seconds to import its libraries)."""
    home = tmp_path_factory.mktemp("served") / ".bevel"
    saved = os.environ.get("BEVEL_HOME")
    os.environ["BEVEL_HOME"] = str(home)
    try:
        training()
        Client().models.promote("iris", 1, stage="production", reason="first")
    finally:
        if saved is None:
            os.environ.pop("BEVEL_HOME")
        else:
            os.environ["BEVEL_HOME"] = saved
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bevel", "models", "serve", "iris", "--stage", "production",
         "--port", str(port)],
        env={**os.environ, "BEVEL_HOME": str(home)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            if _request(port, "GET", "/health")[0] == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    yield port, home
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def served(served_home: tuple[int, Path], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("BEVEL_HOME", str(served_home[1]))
    return served_home[0]


def test_predict_answers_like_the_model(served: int) -> None:
    df = load_iris(as_frame=True).frame
    X = df.drop(columns="target")
    model = Client().models.version("iris", "production").load_artifact()
    status, answer = _request(
        served, "POST", "/predict",
        {"instances": X.head(5).to_dict(orient="records"), "probabilities": True},
    )  # fmt: skip
    assert status == 200, answer
    assert answer["predictions"] == model.predict(X.head(5)).tolist()
    assert np.allclose(answer["probabilities"], model.predict_proba(X.head(5)))
    assert answer["model"] == "iris" and answer["version"] == 1
    # rows as plain lists work too, in the trained feature order
    status, answer = _request(served, "POST", "/predict", {"instances": X.head(2).values.tolist()})
    assert status == 200 and answer["predictions"] == model.predict(X.head(2)).tolist()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"rows": []}, 422, "must be a JSON object with 'instances'"),
        ({"instances": []}, 422, "non-empty list of rows"),
        (
            {"instances": [[1.0, 2.0]]},
            422,
            "row 0 has 2 values; the model was trained on 4 features",
        ),
        (
            {"instances": [[1.0, "x", 2.0, 3.0]]},
            422,
            "row 0, value 1 is 'x': expected a finite number",
        ),
        ({"instances": [{"sepal length (cm)": 1.0}]}, 422, "row 0: missing 'sepal width (cm)'"),
        ({"instances": [[float("nan")] * 4]}, 422, "expected a finite number"),
    ],
)
def test_malformed_input_gets_a_4xx_and_a_clear_message(
    served: int, body: Any, status: int, message: str
) -> None:
    got, answer = _request(served, "POST", "/predict", body)  # NaN goes out as JSON's NaN
    assert got == status, answer
    assert message in answer["error"]
    assert "sepal length (cm)" in answer["hint"]  # what a good request looks like


def test_not_json_is_a_400(served: int) -> None:
    status, answer = _request(served, "POST", "/predict", raw=b"{not json")
    assert status == 400 and "not JSON" in answer["error"]


def test_health_and_metadata(served: int) -> None:
    assert _request(served, "GET", "/health") == (
        200,
        {"status": "ok", "model": "iris", "version": 1},
    )
    status, about = _request(served, "GET", "/metadata")
    assert status == 200 and about["stage"] == "production"
    assert about["signature"]["n_features"] == 4
    assert about["signature"]["feature_names"][0] == "sepal length (cm)"


def test_serving_an_empty_stage_says_how_to_fill_it(invoke: Invoke, bevel_home: Path) -> None:
    training()
    result = invoke("models", "serve", "iris", "--stage", "production")
    assert result.exit_code == 1
    assert "has no version in production" in result.output
    assert "bevel models promote iris VERSION --stage production" in result.output


def test_the_local_deployer_starts_reports_and_stops_a_server(
    invoke: Invoke, bevel_home: Path
) -> None:
    training_arrays()
    result = invoke("models", "deploy", "iris_arrays", "--version", "1")
    assert result.exit_code == 0, result.output
    url = result.output.strip().split()[-1]
    port = int(url.rsplit(":", 1)[1])
    assert _request(port, "POST", "/predict", {"instances": [[5.1, 3.5, 1.4, 0.2]]})[1][
        "predictions"
    ] == [0]
    listed = invoke("models", "deployments")
    assert "iris_arrays" in listed.output and "running" in listed.output
    logs = invoke("models", "logs", "iris_arrays")
    assert logs.exit_code == 0
    stopped = invoke("models", "stop", "iris_arrays")
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    with pytest.raises(OSError):
        _request(port, "GET", "/health")
    again = invoke("models", "stop", "iris_arrays")
    assert again.exit_code == 1 and "is not deployed" in again.output
    assert "bevel models deploy iris_arrays" in again.output


def test_the_stacks_model_deployer_is_the_one_used(invoke: Invoke, bevel_home: Path) -> None:
    training_arrays()
    port = _free_port()
    registered = invoke(
        "component", "register", "model_deployer", "dep", "--flavor", "local", "--port", str(port)
    )
    assert registered.exit_code == 0, registered.output
    stack = invoke(
        "stack", "register", "serving", "-a", "local-artifacts", "--model-deployer", "dep"
    )
    assert stack.exit_code == 0, stack.output
    try:
        result = invoke("models", "deploy", "iris_arrays", "--version", "1", "--stack", "serving")
        assert result.exit_code == 0, result.output
        assert f"serves at http://127.0.0.1:{port}" in result.output
        assert _request(port, "GET", "/health")[0] == 200
        logs = sorted((bevel_home / "deployments").glob("iris_arrays-v1-*.log"))
        assert logs, "the component's folder holds the server's log"
    finally:
        stopped = invoke("models", "stop", "iris_arrays", "--stack", "serving")
    assert stopped.exit_code == 0, stopped.output
