"""Every bad input from the core issue, through the real `bevel` command: a clear error that names
what was wrong and where, says how to fix it, and loses nothing already recorded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from e2e_helpers import Runner

PIPE = """
from typing import Annotated
import pandas as pd
from bevel import pipeline, step

class Model:
    pass

@step
def make(n: int = 3) -> list[int]:
    return list(range(n))

@step
def total(xs: list[int]) -> int:
    return sum(xs)

@step
def explode(x: int) -> int:
    raise ZeroDivisionError("the step divided by zero")

@step
def liar() -> pd.DataFrame:
    return "a string, not a frame"

@step
def opaque() -> Model:
    return Model()

@pipeline
def good(n: int = 3):
    total(make(n))

@pipeline
def failing():
    explode(total(make()))

@pipeline
def wrong_type():
    liar()

@pipeline
def no_materializer():
    opaque()

@pipeline
def non_json():
    make(n=object())
"""


def setup(tmp_path: Path) -> Path:
    path = tmp_path / "pipes.py"
    path.write_text(PIPE)
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_missing_file_and_missing_pipeline(bevel_cli: Runner, tmp_path: Path) -> None:
    setup(tmp_path)
    missing = bevel_cli("run", "nope.py:good", ok=False)
    assert missing.returncode == 2
    assert "pipeline file not found: nope.py" in missing.stderr
    assert "hint:" in missing.stderr and "Traceback" not in missing.stderr
    unknown = bevel_cli("run", "pipes.py:trainig", ok=False)
    assert unknown.returncode == 2
    assert "pipes.py has no pipeline named 'trainig'" in unknown.stderr
    assert "good" in unknown.stderr and "failing" in unknown.stderr


def test_unknown_and_malformed_parameters(bevel_cli: Runner, tmp_path: Path) -> None:
    setup(tmp_path)
    bad = bevel_cli("run", "pipes.py:good", "-p", "m=4", ok=False)
    assert bad.returncode == 2
    assert "pipeline 'good' has no parameter(s) 'm'" in bad.stderr
    assert "its parameters are: n" in bad.stderr
    malformed = bevel_cli("run", "pipes.py:good", "-p", "n", ok=False)
    assert malformed.returncode == 2 and "n" in malformed.stderr and "=" in malformed.stderr


def test_bad_yaml_config(bevel_cli: Runner, tmp_path: Path) -> None:
    setup(tmp_path)
    (tmp_path / "run.yaml").write_text("parameters: {n: 2}\nenable_cahce: false\n")
    out = bevel_cli("run", "pipes.py:good", "--config", "run.yaml", ok=False)
    assert out.returncode == 2
    assert "unknown key 'enable_cahce' in the run config run.yaml" in out.stderr
    (tmp_path / "run.yaml").write_text("parameters: {n: 2}\nenable_cache: sometimes\n")
    out = bevel_cli("run", "pipes.py:good", "--config", "run.yaml", ok=False)
    assert "'enable_cache' in the run config run.yaml must be a true/false" in out.stderr


def test_compile_errors_point_at_the_users_line(bevel_cli: Runner, tmp_path: Path) -> None:
    path = setup(tmp_path)
    out = bevel_cli("run", "pipes.py:non_json", ok=False)
    assert f"pipes.py:{line_of(path, 'make(n=object())')}" in out.stderr
    assert "parameter 'n' of step 'make' is not JSON-serialisable" in out.stderr
    out = bevel_cli("run", "pipes.py:no_materializer", ok=False)
    assert f"pipes.py:{line_of(path, 'def opaque') - 1}" in out.stderr  # its @step line
    assert "no materializer for the output 'output' of step 'opaque'" in out.stderr
    assert "register_materializer" in out.stderr and "Traceback" not in out.stderr


def test_failing_step_is_recorded_and_exits_non_zero(bevel_cli: Runner, tmp_path: Path) -> None:
    setup(tmp_path)
    out = bevel_cli("run", "pipes.py:failing", "--name", "f1", ok=False)
    assert out.returncode == 1
    assert "explode" in out.stderr + out.stdout
    assert "ZeroDivisionError: the step divided by zero" in out.stderr + out.stdout
    show = bevel_cli("runs", "show", "f1").stdout
    assert "failed" in show and "ZeroDivisionError" in show
    assert 'raise ZeroDivisionError("the step divided by zero")' in show  # the traceback
    # the artifacts produced before the failure are kept and listed
    arts = bevel_cli("artifacts", "list").stdout
    assert "failing.make.output" in arts and "failing.total.output" in arts
    failed = bevel_cli("runs", "list", "--status", "failed").stdout
    assert "f1" in failed


def test_wrong_output_type_at_run_time(bevel_cli: Runner, tmp_path: Path) -> None:
    path = setup(tmp_path)
    out = bevel_cli("run", "pipes.py:wrong_type", ok=False)
    assert out.returncode == 1
    text = out.stderr + out.stdout
    assert "returned builtins.str for the output 'output', annotated DataFrame" in text
    assert f"pipes.py:{line_of(path, 'def liar') - 1}" in text


def test_database_from_a_newer_bevel(bevel_cli: Runner, tmp_path: Path) -> None:
    setup(tmp_path)
    bevel_cli("run", "pipes.py:good")
    db = tmp_path / ".bevel" / "metadata.db"
    with sqlite3.connect(db) as conn:
        conn.execute("update alembic_version set version_num = 'ffff_from_the_future'")
    out = bevel_cli("runs", "list", ok=False)
    assert out.returncode == 1
    assert "ffff_from_the_future" in out.stderr and "newer" in out.stderr
    assert "pip install -U bevel" in out.stderr and "Traceback" not in out.stderr
    # nothing was touched: the run is still there once the version is restored
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] == 1
