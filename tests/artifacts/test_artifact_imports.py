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
