"""``bevel gc``: what it removes, what it keeps, and its dry run (local store and S3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from bevel.api import compile_pipeline, load_pipeline
from bevel.artifacts import marker
from bevel.artifacts.content import host_tag
from bevel.client.client import Client
from bevel.metadata.records import RunStatus
from bevel.run.engine import new_run
from bevel.stack.stack import default_stack
from bevel.testing.servers import S3Server

Invoke = Callable[..., Result]

PIPELINE = """
import pandas as pd
from bevel import pipeline, step

@step
def make(n: int = 10) -> pd.DataFrame:
    print("making", n)
    return pd.DataFrame({"x": range(n)})

@step
def total(df: pd.DataFrame) -> int:
    return int(df.x.sum())

@pipeline
def p(n: int = 10):
    total(make(n))
"""

HOUR = 3600.0


def age(store_path: Path, seconds: float) -> None:
    """Make everything under ``store_path`` (and markers' ``used``) look ``seconds`` old."""
    when = time.time() - seconds
    for complete in store_path.rglob(f"*{marker.SUFFIX}"):
        data = json.loads(complete.read_text())
        data["used"] = when
        os.chmod(complete, 0o644)
        complete.write_text(json.dumps(data))
    for path in [store_path, *store_path.rglob("*")]:
        os.utime(path, (when, when))


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def leave_garbage(invoke: Invoke, tmp_path: Path) -> dict[str, Path]:
    """Two runs: the first deleted while a run was in progress (its files are left behind),
    plus an interrupted save in .tmp/ and the logs of a run that no longer exists."""
    (tmp_path / "pipe.py").write_text(PIPELINE)
    assert invoke("run", "pipe.py:p", "--name", "gone", "-p", "n=5").exit_code == 0
    assert invoke("run", "pipe.py:p", "--name", "kept", "-p", "n=6").exit_code == 0
    with Client() as client:
        gone = client.get_run("gone")
        left = Path(gone.steps["make"].output.uri)
        kept = Path(client.get_run("kept").steps["make"].output.uri)
        plan = compile_pipeline(load_pipeline(f"{tmp_path / 'pipe.py'}:p")).plan
        live = client.store.create_run(new_run(plan, default_stack()))  # another run going on
        done = client.delete_run(gone.id)
        assert str(left) in done.kept  # so its files are left for gc
        client.store.finish_run(live.id, RunStatus.COMPLETED, ended=datetime.now(UTC))
    root = tmp_path / ".bevel" / "artifacts"
    tmp = root / ".tmp" / f"{dead_pid()}-{host_tag()}-0123456789abcdef"
    tmp.mkdir(parents=True)
    (tmp / "part.parquet").write_bytes(b"x" * 1000)
    logs = root / "logs" / ("0" * 32)
    logs.mkdir(parents=True)
    (logs / "make-12345678.log").write_text("old logs")
    viz = root / "viz" / ("cd" * 32)  # of content deleted by hand
    viz.mkdir(parents=True)
    (viz / "table.html").write_text("<table></table>")
    age(root, 2 * HOUR)
    return {"left": left, "kept": kept, "tmp": tmp, "logs": logs, "viz": viz}


def test_dry_run_prints_what_it_would_free_and_removes_nothing(
    invoke: Invoke, tmp_path: Path
) -> None:
    paths = leave_garbage(invoke, tmp_path)
    result = invoke("gc", "--dry-run")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "would remove" in out and "would free" in out
    for what in ("unreferenced artifact", "interrupted save", "logs of a deleted run",
                 "visualizations of deleted content"):  # fmt: skip
        assert what in out
    assert all(path.exists() for path in paths.values())


def test_gc_removes_unreferenced_files_and_keeps_what_records_use(
    invoke: Invoke, tmp_path: Path
) -> None:
    paths = leave_garbage(invoke, tmp_path)
    result = invoke("gc")
    assert result.exit_code == 0, result.output
    # the two outputs of the deleted run (with their visualization), an interrupted save, old
    # logs and a visualization whose content is gone
    assert "freed" in result.output and "in 5 item(s)" in result.output
    for name in ("left", "tmp", "logs", "viz"):
        assert not paths[name].exists(), name
    assert not (paths["left"].parents[2] / "viz" / paths["left"].name).exists()
    assert not Path(marker.marker_path(str(paths["left"]))).exists()
    assert paths["kept"].is_dir()
    with Client() as client:
        assert client.get_run("kept").steps["make"].output.load().x.sum() == 15
        assert "making 6" in client.get_run("kept").steps["make"].logs()
    assert "freed 0 B in 0 item(s)" in invoke("gc").output  # nothing left to do


def test_gc_keeps_what_was_used_within_the_grace_period(invoke: Invoke, tmp_path: Path) -> None:
    paths = leave_garbage(invoke, tmp_path)
    age(tmp_path / ".bevel" / "artifacts", 60)  # a minute old: a run may still record it
    result = invoke("gc")
    assert result.exit_code == 0
    assert "kept 3 unreferenced item(s)" in result.output and "(60m)" in result.output
    assert paths["left"].is_dir() and paths["logs"].is_dir()
    assert not paths["tmp"].exists()  # its process is gone: no need to wait
    assert invoke("gc", "--grace", "30s").exit_code == 0
    assert not paths["left"].exists() and not paths["logs"].exists()


@pytest.mark.parametrize("bad", ["soon", "-5m", "10 minutes"])
def test_a_bad_grace_is_a_clear_error(invoke: Invoke, bad: str) -> None:
    result = invoke("gc", "--grace", bad)
    assert result.exit_code == 2
    assert "is not a duration" in result.output and "--grace 10m" in result.output


@pytest.mark.servers
def test_gc_on_an_s3_store(invoke: Invoke, tmp_path: Path, s3: S3Server) -> None:
    (tmp_path / "pipe.py").write_text(PIPELINE)
    assert invoke(
        "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
        "--path", f"s3://{s3.new_bucket()}/artifacts", "--endpoint-url", s3.endpoint_url,
        "--key", "testing", "--secret", "testing", "--region", "us-east-1",
    ).exit_code == 0  # fmt: skip
    assert invoke("stack", "register", "on-s3", "-a", "s3-store").exit_code == 0
    assert invoke("stack", "set", "on-s3").exit_code == 0
    assert invoke("run", "pipe.py:p", "--name", "first").exit_code == 0
    with Client() as client:
        store = client.artifact_store
        uri = client.get_run("first").steps["make"].output.uri
        orphan = store.uri("data/ab/ab" + "0" * 62)
        with store.open("data/ab/ab" + "0" * 62 + "/data.parquet", "wb") as fh:
            fh.write(b"left by a crashed upload")  # no marker, no record
    dry = invoke("gc", "--dry-run", "--grace", "0")
    assert dry.exit_code == 0 and "data/ab/ab000" in dry.output
    assert invoke("gc", "--grace", "0").exit_code == 0
    with Client() as client:
        store = client.artifact_store
        assert not store.exists("data/ab/ab" + "0" * 62)
        assert client.get_run("first").steps["make"].output.load().x.sum() == 45
        assert uri != orphan
