"""Serving a model version over HTTP (FastAPI + uvicorn): ``bevel models serve NAME``.

Endpoints (JSON in, JSON out):

- ``POST /predict``: ``{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}`` (rows of numbers) or, for a
  model fitted on named columns, ``{"instances": [{"sepal length (cm)": 5.1, ...}, ...]}``;
  ``"probabilities": true`` adds ``predict_proba``. Answers ``{"predictions": [...], "model":
  "iris", "version": 2}``. The input is checked against the *signature* recorded when the model
  was trained (number and names of features): a malformed request gets a 422 whose ``error``
  says what is wrong and ``hint`` what a good request looks like; a body that is not JSON a 400.
- ``GET /health``: ``{"status": "ok", ...}`` once the model is loaded.
- ``GET /metadata``: model, version, stage, metrics, signature, the run that built it.

The model is loaded once, when the server starts. The server binds 127.0.0.1 unless told
otherwise. scikit-learn estimators are called with ``predict``; torch modules with a float32
tensor of the rows (in ``eval()`` mode, without gradients).
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bevel.models.views import ModelVersion

MAX_ROWS = 10_000


class BadInput(Exception):
    def __init__(self, message: str, hint: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


class Predictor:
    """Turns checked rows into predictions for one loaded model."""

    def __init__(self, model: Any, signature: dict[str, Any]) -> None:
        self.model = model
        self.signature = signature
        self.n_features: int | None = signature.get("n_features")
        self.names: list[str] | None = signature.get("feature_names")
        self.is_torch = type(model).__module__.startswith("torch") or any(
            c.__module__.startswith("torch.nn") for c in type(model).__mro__
        )

    def example(self) -> str:
        if self.names:
            row = ", ".join(f'"{n}": 0.0' for n in self.names[:3])
            return '{"instances": [{' + row + (", ..." if len(self.names) > 3 else "") + "}]}"
        n = self.n_features or 2
        return (
            '{"instances": [[' + ", ".join(["0.0"] * min(n, 4)) + (", ..." if n > 4 else "") + "]]}"
        )

    def rows(self, body: Any) -> list[list[float]]:
        """The request's rows as numbers, checked against the signature."""
        hint = f"send {self.example()}"
        if not isinstance(body, dict) or "instances" not in body:
            raise BadInput("the request body must be a JSON object with 'instances'", hint)
        instances = body["instances"]
        if not isinstance(instances, list) or not instances:
            raise BadInput("'instances' must be a non-empty list of rows", hint)
        if len(instances) > MAX_ROWS:
            raise BadInput(f"at most {MAX_ROWS} rows per request, got {len(instances)}", hint, 413)
        rows: list[list[float]] = []
        for i, row in enumerate(instances):
            if isinstance(row, dict):
                row = self._from_names(row, i, hint)
            if not isinstance(row, list):
                raise BadInput(f"row {i} must be a list of numbers, got {type(row).__name__}", hint)
            if self.n_features is not None and len(row) != self.n_features:
                raise BadInput(
                    f"row {i} has {len(row)} values; the model was trained on "
                    f"{self.n_features} features",
                    hint,
                )
            for j, v in enumerate(row):
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise BadInput(f"row {i}, value {j} is {v!r}: expected a finite number", hint)
            rows.append([float(v) for v in row])
        return rows

    def _from_names(self, row: dict[str, Any], i: int, hint: str) -> list[Any]:
        if not self.names:
            raise BadInput(
                f"row {i} is an object, but the model was trained without feature names", hint
            )
        missing = [n for n in self.names if n not in row]
        extra = [k for k in row if k not in self.names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(map(repr, missing[:5]))}")
            if extra:
                parts.append(f"unknown {', '.join(map(repr, extra[:5]))}")
            raise BadInput(f"row {i}: {'; '.join(parts)}", hint)
        return [row[n] for n in self.names]

    def predict(self, rows: list[list[float]], probabilities: bool) -> dict[str, Any]:
        if self.is_torch:
            return {"predictions": self._torch(rows)}
        if self.names:
            import pandas as pd  # optional: a model fitted on a DataFrame wants its columns

            data: Any = pd.DataFrame(rows, columns=self.names)
        else:
            data = rows
        out: dict[str, Any] = {"predictions": _plain(self.model.predict(data))}
        if probabilities:
            if not hasattr(self.model, "predict_proba"):
                raise BadInput(
                    "this model gives no probabilities", "leave 'probabilities' out", 400
                )
            out["probabilities"] = _plain(self.model.predict_proba(data))
        return out

    def _torch(self, rows: list[list[float]]) -> Any:
        import torch  # optional: bevel[torch]

        self.model.eval()
        with torch.no_grad():
            return self.model(torch.tensor(rows, dtype=torch.float32)).tolist()


def _plain(values: Any) -> Any:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def build_app(version: ModelVersion, *, model: Any = None) -> FastAPI:
    """The FastAPI app serving ``version`` (its ``model`` artifact, loaded now)."""
    loaded = version.load_artifact("model") if model is None else model
    predictor = Predictor(loaded, dict(version.metadata.get("signature") or {}))
    about = {
        "model": version.model,
        "version": version.number,
        "version_name": version.name,
        "stage": version.stage.value if version.stage else None,
        "metrics": version.metrics,
        "signature": predictor.signature,
        "run_id": version.run_id,
        "created": version.created.isoformat(),
        "model_type": version.metadata.get("model_type"),
    }
    app = FastAPI(title=f"bevel: {version.model} v{version.number}", docs_url=None, redoc_url=None)
    ident = {"model": version.model, "version": version.number}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", **ident}

    @app.get("/metadata")
    def metadata() -> dict[str, Any]:
        return about

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _error(
                BadInput(f"the request body is not JSON: {exc}", predictor.example(), 400)
            )
        try:
            rows = predictor.rows(body)
            out = predictor.predict(
                rows, bool(isinstance(body, dict) and body.get("probabilities"))
            )
        except BadInput as bad:
            return _error(bad)
        except Exception as exc:  # the model refused the rows: still the client's input
            return _error(
                BadInput(
                    f"the model could not predict: {type(exc).__name__}: {exc}", predictor.example()
                )
            )
        return JSONResponse({**out, **ident})

    return app


def _error(bad: BadInput) -> JSONResponse:
    return JSONResponse({"error": bad.message, "hint": bad.hint}, status_code=bad.status)


def serve(version: ModelVersion, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``version`` until interrupted (what ``bevel models serve`` runs)."""
    import uvicorn  # optional: bevel[serve]

    app = build_app(version)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
