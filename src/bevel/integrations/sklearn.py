"""scikit-learn estimators and pipelines, stored with skops: loading never runs pickled code.

Registered in the materializer table as ``"sklearn.base:BaseEstimator"`` (a string), so this
module, sklearn and skops are imported only when an estimator is saved or loaded.

**Safe by default.** The estimator is written in skops' format (``model.skops``: a zip of JSON
and numpy arrays, no pickle). Loading builds only the types skops trusts out of the box plus
those of :data:`TRUSTED_MODULES` (scikit-learn, numpy and scipy classes such as
``sklearn.tree._tree.Tree``); a file naming any other type (``os.system``, a class of your own,
or a tampered file smuggling one in) is refused with :class:`~bevel.errors.ArtifactError`
before anything of it is built. To load estimators that use your own classes, trust them by
name: ``trust("mylib.features.Scaler")`` (or put the module in :data:`TRUSTED_MODULES`).

**Pickle only by explicit opt-in**: ``@step(materializers={"model":
"bevel.integrations.sklearn:PickledSklearnMaterializer"})`` (joblib, recorded with the Python
version), or ``@step(pickle=["model"])``. Artifacts written by bevel before the safe format
(``model.joblib`` under this materializer) are refused as pickles, saying how to re-create them.

The sklearn and Python versions are recorded beside the data and in the metadata; loading with
a different sklearn (or Python) version warns. ``metadata()`` records the estimator's
*signature* (number and names of input features, classes or outputs), which model serving
validates requests against.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, ClassVar

import sklearn
import skops.io as sio
from sklearn.utils import estimator_html_repr

from bevel.errors import ArtifactError, BevelWarning

FILENAME = "model.skops"
PICKLE_FILENAME = "model.joblib"
VERSIONS_FILENAME = "versions.json"

#: Top-level modules whose types load without being named one by one.
TRUSTED_MODULES: set[str] = {"sklearn", "numpy", "scipy"}
_trusted_types: set[str] = set()


def trust(*type_names: str) -> None:
    """Allow these types (``"mylib.features.Scaler"``, as skops names them) in loaded files."""
    _trusted_types.update(type_names)


def _versions() -> dict[str, str]:
    python = ".".join(str(part) for part in sys.version_info[:2])
    return {"python": python, "sklearn": sklearn.__version__}


def _json_safe(value: Any) -> Any:
    """Estimator params as JSON: plain values as they are, anything else (nested estimators,
    callables, arrays) as its repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_safe(v) for k, v in value.items()}
    return repr(value)


def signature(obj: Any) -> dict[str, Any]:
    """What a fitted estimator takes and gives: ``n_features``, ``feature_names`` (when fitted on
    a DataFrame), ``classes`` (classifiers) or ``n_outputs``; empty for an unfitted one."""
    found: dict[str, Any] = {}
    n_features = getattr(obj, "n_features_in_", None)
    if n_features is None:
        return found
    found["n_features"] = int(n_features)
    names = getattr(obj, "feature_names_in_", None)
    if names is not None:
        found["feature_names"] = [str(n) for n in names]
    classes = getattr(obj, "classes_", None)
    if classes is not None:
        found["classes"] = _json_safe([c.item() if hasattr(c, "item") else c for c in classes])
    found["methods"] = [m for m in ("predict", "predict_proba") if hasattr(obj, m)]
    return found


def _check_versions(directory: str) -> None:
    with open(os.path.join(directory, VERSIONS_FILENAME), encoding="utf-8") as f:
        saved = json.loads(f.read())
    now = _versions()
    changed = [f"{k} {saved.get(k)} (now {now[k]})" for k in now if saved.get(k) != now[k]]
    if changed:
        warnings.warn(
            "this scikit-learn estimator was saved with "
            + ", ".join(changed)
            + "; it may load wrongly or predict differently. Re-run the producing step "
            "(`bevel run ... --no-cache`) to re-create it with the current versions",
            BevelWarning,
            stacklevel=3,
        )


def _write_versions(directory: str) -> None:
    with open(os.path.join(directory, VERSIONS_FILENAME), "w", encoding="utf-8") as f:
        f.write(json.dumps(_versions(), sort_keys=True))


class SklearnMaterializer:
    """Estimators in skops' format; loading builds trusted types only (see the module)."""

    version: ClassVar[str] = "2"  # 1 was a joblib pickle

    def save(self, obj: Any, directory: str) -> None:
        sio.dump(obj, os.path.join(directory, FILENAME))
        _write_versions(directory)

    def load(self, directory: str, type_: type | None) -> Any:
        path = os.path.join(directory, FILENAME)
        if not os.path.exists(path) and os.path.exists(os.path.join(directory, PICKLE_FILENAME)):
            raise ArtifactError(
                "this scikit-learn estimator was stored as a pickle by an older bevel; loading "
                "a pickle runs whatever code it holds, so bevel does not load it",
                hint="re-run the step that produced it (`bevel run ... --no-cache`) to store it "
                "in the safe format; if you trust the file, load it yourself with "
                f"joblib.load({os.path.join(directory, PICKLE_FILENAME)!r})",
            )
        _check_versions(directory)
        untrusted = sio.get_untrusted_types(file=path)
        refused = [
            t for t in untrusted
            if t.split(".", 1)[0] not in TRUSTED_MODULES and t not in _trusted_types
        ]  # fmt: skip
        if refused:
            raise ArtifactError(
                f"this scikit-learn file names types bevel does not trust: {', '.join(refused)}; "
                "nothing of it was loaded",
                hint="if these are your own classes, trust them before loading: "
                "bevel.integrations.sklearn.trust("
                + ", ".join(repr(t) for t in refused)
                + "); if you did not put them there, the file was tampered with",
            )
        return sio.load(path, trusted=untrusted)

    def metadata(self, obj: Any) -> dict[str, Any]:
        kind = type(obj)
        found = {
            "estimator": f"{kind.__module__}.{kind.__qualname__}",
            "params": _json_safe(obj.get_params(deep=False)),
            "sklearn_version": sklearn.__version__,
            "python_version": ".".join(str(part) for part in sys.version_info[:3]),
            "device": "cpu",
        }
        sig = signature(obj)
        if sig:
            found["signature"] = sig
        return found

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {"estimator": estimator_html_repr(obj)}  # sklearn's own self-contained diagram


class PickledSklearnMaterializer(SklearnMaterializer):
    """The explicit opt-in to joblib pickles (any estimator, your own classes included; loading
    runs the code the file holds: use it only for files you trust)."""

    version: ClassVar[str] = "1"
    #: publish records ``python_version`` for materializers that pickle.
    pickled: ClassVar[bool] = True

    def save(self, obj: Any, directory: str) -> None:
        import joblib  # a dependency of scikit-learn

        joblib.dump(obj, os.path.join(directory, PICKLE_FILENAME))
        _write_versions(directory)

    def load(self, directory: str, type_: type | None) -> Any:
        import joblib

        _check_versions(directory)
        return joblib.load(os.path.join(directory, PICKLE_FILENAME))
