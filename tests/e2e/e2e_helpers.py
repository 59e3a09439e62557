"""Shared constants and types for the end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

BEVEL = str(Path(sys.executable).with_name("bevel"))
ROOT = Path(__file__).resolve().parents[2]

Runner = Callable[..., subprocess.CompletedProcess[str]]
