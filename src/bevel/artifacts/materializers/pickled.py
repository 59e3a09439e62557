"""Pickle: an explicit, per-output opt-in (``@step(pickle=True)``), never a silent fallback.

Pickles are tied to the Python version (and to the code of every class inside), so the Python
``major.minor`` it was written with is stored beside the data and checked on load: a mismatch is
a clear error instead of an obscure unpickling failure.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from typing import Any, ClassVar

from bevel.errors import ArtifactError

FILENAME = "data.pkl"
VERSION_FILENAME = "python.json"
PROTOCOL = 5  # fixed, so the same object gives the same bytes (and the same content hash)


def python_minor() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def python_full() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def check_python_version(directory: str) -> None:
    """Raise ArtifactError when ``directory`` was pickled by another Python minor version."""
    with open(os.path.join(directory, VERSION_FILENAME), encoding="utf-8") as f:
        saved = json.loads(f.read())["python"]
    if saved != python_minor():
        raise ArtifactError(
            f"this artifact was pickled with Python {saved} and cannot be loaded safely by "
            f"Python {python_minor()}",
            hint=f"load it with Python {saved}, or re-create it by re-running the producing step "
            "with caching off (`bevel run ... --no-cache`); to make it portable, give the type "
            "a materializer (bevel.register_materializer) instead of pickle",
        )


def write_python_version(directory: str) -> None:
    with open(os.path.join(directory, VERSION_FILENAME), "w", encoding="utf-8") as f:
        f.write(json.dumps({"python": python_minor()}))


class PickleMaterializer:
    version: ClassVar[str] = "1"
    #: publish records ``python_version`` for materializers that pickle.
    pickled: ClassVar[bool] = True

    def save(self, obj: Any, directory: str) -> None:
        with open(os.path.join(directory, FILENAME), "wb") as f:
            pickle.dump(obj, f, protocol=PROTOCOL)
        write_python_version(directory)

    def load(self, directory: str, type_: type | None) -> Any:
        check_python_version(directory)
        with open(os.path.join(directory, FILENAME), "rb") as f:
            return pickle.load(f)

    def metadata(self, obj: Any) -> dict[str, Any]:
        kind = type(obj)
        return {"type": f"{kind.__module__}:{kind.__qualname__}", "python_version": python_full()}

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}
