"""The scikit-learn integration materializer."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import resolve_materializer, type_ref
from bevel.artifacts.publish import load_artifact, save_artifact
from bevel.errors import BevelWarning
from bevel.integrations.sklearn import VERSIONS_FILENAME


def _fitted() -> object:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(x, y)


def test_round_trip_and_metadata(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    model = _fitted()
    ref = resolve_materializer(type(model))
    assert ref == "bevel.integrations.sklearn:SklearnMaterializer"
    saved = save_artifact(store, model, ref)
    assert saved.python_version is None  # skops, not a pickle: no Python version to tie it to
    assert saved.metadata["estimator"] == "sklearn.pipeline.Pipeline"
    assert saved.metadata["sklearn_version"]
    assert "steps" in saved.metadata["params"]
    json.dumps(saved.metadata)  # JSON-safe
    assert "estimator" in saved.visualizations
    loaded = load_artifact(
        store,
        uri=saved.uri,
        materializer=ref,
        type_ref=type_ref(type(model)),
        content_hash=saved.content_hash,
        name="m",
    )
    x = np.array([[0.2, 0.8]])
    assert (loaded.predict_proba(x) == model.predict_proba(x)).all()  # type: ignore[attr-defined]


def test_other_sklearn_version_warns(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    ref = "bevel.integrations.sklearn:SklearnMaterializer"
    saved = save_artifact(store, LogisticRegression(), ref)
    versions = Path(saved.uri) / VERSIONS_FILENAME
    data = json.loads(versions.read_text())
    versions.write_text(json.dumps({**data, "sklearn": "0.1.0"}))
    with warnings.catch_warnings(), pytest.warns(BevelWarning, match="sklearn 0.1.0"):
        load_artifact(
            store,
            uri=saved.uri,
            materializer=ref,
            type_ref="sklearn.linear_model._logistic:LogisticRegression",
            content_hash=saved.content_hash,
            name="m",
            verify=False,
        )
