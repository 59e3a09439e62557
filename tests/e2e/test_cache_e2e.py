"""Caching across processes as a user experiences it: edit a helper file, see exactly what reran."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import Runner

PIPELINE = """
from bevel import pipeline, step
from helpers import scale

@step
def make(n: int = 5) -> list[int]:
    return list(range(n))

@step
def transform(xs: list[int]) -> list[float]:
    # a comment
    return [scale(x) for x in xs]

@pipeline
def p(n: int = 5):
    transform(make(n))
"""


def write(folder: Path, factor: str, comment: str = "") -> None:
    (folder / "pipe.py").write_text(PIPELINE.replace("# a comment", f"# {comment}"))
    (folder / "helpers.py").write_text(f"def scale(x):\n    return x * {factor}\n")


def test_editing_a_helper_reruns_only_its_callers(bevel_cli: Runner, tmp_path: Path) -> None:
    write(tmp_path, "2.0")
    assert "2 ran, 0 cached" in bevel_cli("run", "pipe.py:p").stdout
    write(tmp_path, "2.0", comment="only a comment changed")
    assert "0 ran, 2 cached" in bevel_cli("run", "pipe.py:p").stdout
    write(tmp_path, "3.0")
    out = bevel_cli("run", "pipe.py:p", "--name", "after-edit").stdout
    assert "1 ran, 1 cached" in out
    explain = bevel_cli("runs", "explain", "after-edit", "transform").stdout.splitlines()
    assert explain[0].startswith("not cached: compared with step run ")
    assert "  - code changed: helper helpers:scale" in explain
    cached = bevel_cli("runs", "explain", "after-edit", "make").stdout.splitlines()
    # "cached" alone would also match "not cached": the first line says which, and from where
    assert cached[0].startswith("cached: reused the outputs of step run ")
    assert cached[1].startswith("  - same cache key: sha256:")
    nocache = bevel_cli("run", "pipe.py:p", "--no-cache", "--name", "no-cache").stdout
    assert "2 ran, 0 cached" in nocache
    off = bevel_cli("runs", "explain", "no-cache", "make").stdout.splitlines()
    assert off[0] == "caching was disabled for the whole run (--no-cache / enable_cache=False)"
