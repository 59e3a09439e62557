"""Many processes running pipelines against one store at once: every run completes and loads,
nobody sees "database is locked", artifact versions stay consecutive.

SQLite: 8 processes x 25 runs on one ``.bevel/metadata.db``. PostgreSQL: 4 x 10. The figures
(wall time, runs per second, the slowest process) go to ``record_property`` and stdout (``-s``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from bevel import Client

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

HERE = Path(__file__).parent


def run_processes(
    bevel_home: Path, workers: int, runs: int, record_property: pytest.RecordProperty, label: str
) -> None:
    env = {**os.environ, "BEVEL_HOME": str(bevel_home)}
    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "many_runs.py"), str(w), str(runs)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    per_process = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert "database is locked" not in err
        assert proc.returncode == 0, err[-3000:]
        per_process.append(float(out.split()[-1]))
    wall = time.monotonic() - began

    with Client() as client:
        listed = client.runs(pipeline="many", limit=0)
        assert len(listed) == workers * runs
        assert {r.status for r in listed} == {"completed"}
        versions: dict[str, list[int]] = defaultdict(list)
        for summary in listed:
            run = client.get_run(summary.id)
            assert list(run.steps) == ["make", "scale", "total"]
            expected = None
            for s in run.steps.values():
                value = s.output.load()  # verifies the content hash
                if s.status == "completed":
                    versions[s.output.name].append(s.output.version)
                if s.step_id == "scale":
                    expected = float(value.sum())
            assert run.steps["total"].output.load() == pytest.approx(expected)
        for name, seen in versions.items():
            assert sorted(seen) == list(range(1, len(seen) + 1)), f"{name}: {sorted(seen)}"
    figures = {
        "processes": workers,
        "runs_each": runs,
        "wall_seconds": round(wall, 2),
        "runs_per_second": round(workers * runs / wall, 1),
        "slowest_process_seconds": max(per_process),
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"\nreliability/{label}:", figures)


def test_eight_processes_times_25_runs_on_one_sqlite_store(
    bevel_home: Path, record_property: pytest.RecordProperty
) -> None:
    run_processes(bevel_home, 8, 25, record_property, "sqlite")


@pytest.mark.servers
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_four_processes_times_ten_runs_on_postgresql(
    bevel_home: Path, record_property: pytest.RecordProperty
) -> None:
    run_processes(bevel_home, 4, 10, record_property, "postgresql")
