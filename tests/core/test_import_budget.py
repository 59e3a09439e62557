"""The import-budget guard: `import bevel` (and `from bevel import step, pipeline`) stays light.

Deterministic: it checks *which* modules get imported, not how long it takes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "pandas",
    "numpy",
    "pyarrow",
    "pydantic",
    "fastapi",
    "click",
    "rich",
    "fsspec",
    "yaml",
    "sklearn",
)


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    ["import bevel", "from bevel import step, pipeline", "import bevel; bevel.__version__"],
)
def test_import_bevel_imports_no_heavy_library(code: str) -> None:
    heavy = sorted(set(HEAVY) & imported_after(code))
    assert not heavy, f"`{code}` imported {heavy}; import them lazily where they are needed"


def test_defining_steps_and_pipelines_stays_light() -> None:
    code = (
        "from bevel import step, pipeline\n"
        "@step\ndef a(x: int = 1) -> int:\n    return x\n"
        "@pipeline\ndef p():\n    a()\n"
    )
    heavy = sorted(set(HEAVY) & imported_after(code))
    assert not heavy, heavy
