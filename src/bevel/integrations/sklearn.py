"""scikit-learn estimators, stored with joblib.

Registered in the materializer table as ``"sklearn.base:BaseEstimator"`` (a string), so this
module, and sklearn, are imported only when an estimator is actually saved or loaded. An
estimator pickle is tied to the sklearn and Python versions that wrote it: both are recorded in
the metadata and beside the data, and loading with a different sklearn (or Python) version warns.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, ClassVar

import joblib  # a dependency of scikit-learn
import sklearn
from sklearn.utils import estimator_html_repr

from bevel.errors import BevelWarning

FILENAME = "model.joblib"
VERSIONS_FILENAME = "versions.json"


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


class SklearnMaterializer:
    version: ClassVar[str] = "1"
    #: publish records ``python_version`` for materializers that pickle.
    pickled: ClassVar[bool] = True

    def save(self, obj: Any, directory: str) -> None:
        joblib.dump(obj, os.path.join(directory, FILENAME))
        with open(os.path.join(directory, VERSIONS_FILENAME), "w", encoding="utf-8") as f:
            f.write(json.dumps(_versions(), sort_keys=True))

    def load(self, directory: str, type_: type | None) -> Any:
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
                stacklevel=2,
            )
        return joblib.load(os.path.join(directory, FILENAME))

    def metadata(self, obj: Any) -> dict[str, Any]:
        kind = type(obj)
        return {
            "estimator": f"{kind.__module__}.{kind.__qualname__}",
            "params": _json_safe(obj.get_params(deep=False)),
            "sklearn_version": sklearn.__version__,
            "python_version": ".".join(str(part) for part in sys.version_info[:3]),
        }

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {"estimator": estimator_html_repr(obj)}  # sklearn's own self-contained diagram
