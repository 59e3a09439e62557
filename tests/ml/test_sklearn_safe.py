"""scikit-learn estimators are stored with skops: round trips, and files that would run code
when loaded are refused before anything of them is built."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import sklearn
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bevel.errors import ArtifactError
from bevel.integrations.sklearn import (
    FILENAME,
    PICKLE_FILENAME,
    PickledSklearnMaterializer,
    SklearnMaterializer,
    trust,
)

MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / "bevel-sklearn-pwned"


class Pwn:
    """Unpickling this runs code: it writes MARKER (what an attacker's payload would do)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


class Evil(LogisticRegression):
    """An estimator whose __setstate__ runs code when skops would build it."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        MARKER.touch()
        super().__setstate__(state)


@pytest.fixture(autouse=True)
def no_marker() -> Any:
    MARKER.unlink(missing_ok=True)
    yield
    MARKER.unlink(missing_ok=True)


def _data() -> tuple[np.ndarray, np.ndarray]:
    return load_iris(return_X_y=True)


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        RandomForestClassifier(n_estimators=5, random_state=0),
    ],
    ids=["pipeline", "forest"],
)
def test_round_trip_predicts_the_same(model: Any, tmp_path: Path) -> None:
    X, y = _data()
    model.fit(X, y)
    m = SklearnMaterializer()
    m.save(model, str(tmp_path))
    assert (tmp_path / FILENAME).exists() and not (tmp_path / PICKLE_FILENAME).exists()
    with zipfile.ZipFile(tmp_path / FILENAME) as z:  # skops' format: JSON and arrays, no pickle
        assert not [n for n in z.namelist() if n.endswith((".pkl", ".pickle"))]
    loaded = m.load(str(tmp_path), type(model))
    assert (loaded.predict_proba(X) == model.predict_proba(X)).all()
    sig = m.metadata(model)["signature"]
    assert sig["n_features"] == 4 and sig["classes"] == [0, 1, 2]


def test_a_legacy_pickle_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    """Regression: bevel's sklearn materializer used to joblib.load its file, so a tampered
    (or hostile) model.joblib ran code on load. It fails on main (MARKER gets written)."""
    joblib.dump(Pwn(), tmp_path / PICKLE_FILENAME)
    (tmp_path / "versions.json").write_text('{"python": "3.11", "sklearn": "1.0"}')
    with pytest.raises(ArtifactError, match="stored as a pickle") as err:
        SklearnMaterializer().load(str(tmp_path), None)
    assert "--no-cache" in (err.value.hint or "")
    assert not MARKER.exists()


def test_a_tampered_skops_file_naming_other_types_runs_nothing(tmp_path: Path) -> None:
    X, y = _data()
    sio.dump(Evil(max_iter=300).fit(X, y), tmp_path / FILENAME)  # what an attacker could write
    python = "{}.{}".format(*sys.version_info[:2])
    (tmp_path / "versions.json").write_text(
        json.dumps({"python": python, "sklearn": sklearn.__version__})
    )
    with pytest.raises(ArtifactError, match="types bevel does not trust") as err:
        SklearnMaterializer().load(str(tmp_path), None)
    assert "Evil" in str(err.value) and "trust(" in (err.value.hint or "")
    assert not MARKER.exists()
    # following the hint: trusting the type by name loads it (and then its code runs)
    trust(f"{Evil.__module__}.Evil")
    loaded = SklearnMaterializer().load(str(tmp_path), None)
    assert isinstance(loaded, Evil) and MARKER.exists()


def test_pickle_only_by_explicit_opt_in(tmp_path: Path) -> None:
    X, y = _data()
    model = LogisticRegression(max_iter=500).fit(X, y)
    m = PickledSklearnMaterializer()
    m.save(model, str(tmp_path))
    assert m.pickled and (tmp_path / PICKLE_FILENAME).exists()
    assert (m.load(str(tmp_path), None).predict(X) == model.predict(X)).all()
