"""bevel.data stays behind its extra: importing the package costs nothing heavy, and scipy,
pandera are imported only by the functions that need them."""

from __future__ import annotations

import json
import subprocess
import sys


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_import_bevel_data_imports_no_data_library() -> None:
    heavy = {"pandas", "numpy", "pyarrow", "scipy", "pandera"} & imported_after("import bevel.data")
    assert not heavy


def test_profiling_does_not_import_scipy_or_pandera() -> None:
    loaded = imported_after(
        "import pandas as pd\nfrom bevel.data import profile, infer_schema\n"
        "profile(pd.DataFrame({'x': [1.0]})); infer_schema(pd.DataFrame({'x': [1.0]}))"
    )
    assert "pandas" in loaded
    assert not {"scipy", "pandera"} & loaded
