"""`bevel --help` imports click and the command table only: no rich, SQLAlchemy or engine."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("rich", "sqlalchemy", "bevel.api", "pandas", "numpy", "pydantic", "yaml", "bevel.client")

PROBE = f"""
import sys
from bevel.cli.main import main
try:
    main(["--help"])
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
heavy = [m for m in {HEAVY!r} if m in sys.modules]
print("HEAVY=" + ",".join(heavy))
"""


def test_help_imports_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    assert "Commands:" in out
    assert out.strip().splitlines()[-1] == "HEAVY="
