"""The artifact core imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numpy", "pandas", "pyarrow", "pydantic", "fsspec", "sklearn", "joblib"]

CODE = f"""
import json, sys
import bevel.artifacts.local, bevel.artifacts.publish
import bevel.artifacts.materializers.registry as registry
import bevel.artifacts.materializers.json_builtins, bevel.artifacts.materializers.pickled
registry.resolve_materializer(int), registry.resolve_materializer(list[int])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})))
"""


def test_core_modules_import_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


LOAD_AN_ARRAY = """
import json, sys, tempfile
import numpy as np
from bevel.artifacts.materializers.numpy_array import NumpyMaterializer
with tempfile.TemporaryDirectory() as folder:
    np.save(folder + "/array.npy", np.arange(3.0))
    NumpyMaterializer().load_hashed(folder, np.ndarray)
drawing = ("bevel.viz.svg", "bevel.viz.html", "bevel.viz.png", "bevel.artifacts.materializers._array_viz")
print(json.dumps(sorted(m for m in sys.modules if m in drawing)))
"""


def test_loading_an_array_imports_no_visualization() -> None:
    """Drawing is for saves: a verified load (the Client's, a step input's) imports none of it."""
    out = subprocess.run(
        [sys.executable, "-c", LOAD_AN_ARRAY], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
