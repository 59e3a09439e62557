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
    explain = bevel_cli("runs", "explain", "after-edit", "transform").stdout
    assert "helpers:scale" in explain
    cached = bevel_cli("runs", "explain", "after-edit", "make").stdout
    assert "cached" in cached
    nocache = bevel_cli("run", "pipe.py:p", "--no-cache").stdout
    assert "2 ran, 0 cached" in nocache
