"""Several processes running pipelines against one store lose and corrupt nothing (on SQLite,
PostgreSQL and MariaDB: see ``all_databases`` in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bevel import Client

pytestmark = pytest.mark.all_databases

HERE = Path(__file__).parent
WORKERS, RUNS = 4, 20


@pytest.mark.slow
def test_four_processes_times_twenty_runs(bevel_home: Path) -> None:
    env = {**os.environ, "BEVEL_HOME": str(bevel_home)}
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "concurrent_pipeline.py"), str(w), str(RUNS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    with Client() as client:
        _check(client)


def _check(client: Client) -> None:
    runs = client.runs(pipeline="concurrent", limit=1000)
    assert len(runs) == WORKERS * RUNS
    assert {r.status for r in runs} == {"completed"}
    versions: dict[str, list[int]] = defaultdict(list)
    for summary in runs:
        run = client.get_run(summary.id)
        assert list(run.steps) == ["make", "scale", "total"]
        assert {s.status for s in run.steps.values()} <= {"completed", "cached"}
        expected = None
        for step in run.steps.values():
            art = step.output
            if step.status == "completed":
                versions[art.name].append(art.version)
            value = art.load()  # verifies the content hash
            if step.step_id == "scale":
                expected = float(value.sum())
        assert run.steps["total"].output.load() == expected
    for name, seen in versions.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), f"{name}: versions {sorted(seen)}"
    assert len(client.artifacts(limit=10_000)) == sum(len(v) for v in versions.values())
