"""End-to-end helpers: run the real `bevel` console script in a fresh process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from e2e_helpers import BEVEL, Runner


@pytest.fixture
def bevel_cli(tmp_path: Path) -> Runner:
    env = {
        **os.environ,
        "BEVEL_HOME": str(tmp_path / ".bevel"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [BEVEL, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        if ok:
            assert proc.returncode == 0, (
                f"bevel {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    return run
