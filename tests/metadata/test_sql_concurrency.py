"""Several processes sharing one SQLite file: no "database is locked", no lost or duplicate
artifact versions, and a fresh database created exactly once."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import RunStatus, StepCompletion
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import done, make_artifact, make_run, make_step

PROCESSES = 4
RUNS_EACH = 20
STEPS = ("load", "train", "evaluate")


def _open_and_list(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        SqlMetadataStore(url).list_runs()
        results.put("ok")
    except Exception as err:  # reported to the parent, which fails the test
        results.put(f"{type(err).__name__}: {err}")


def _pipeline_runs(url: str, worker: int, barrier: Any, results: Any) -> None:
    store = SqlMetadataStore(url)
    barrier.wait()
    try:
        for i in range(RUNS_EACH):
            now = datetime.now(UTC)
            run = store.create_run(make_run("race", created=now, name=f"race-w{worker}-{i}"))
            previous = None
            for n, step_id in enumerate(STEPS):
                step = make_step(run, step_id, started=now + timedelta(microseconds=n))
                store.start_step_run(step)
                (saved,) = store.finish_step_run(
                    StepCompletion(
                        step_run=done(step),
                        outputs=(make_artifact(f"race.{step_id}", "out"),),
                        inputs=(("x", previous.id),) if previous else (),
                    )
                )
                previous = saved
            store.finish_run(run.id, RunStatus.COMPLETED, ended=datetime.now(UTC))
        results.put("ok")
    except Exception as err:
        results.put(f"{type(err).__name__}: {err}")
    finally:
        store.close()


def _start_all(target: Any, args: tuple[Any, ...], *, per_worker: bool = False) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(*args, *((w,) if per_worker else ()), barrier, results))
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return outcomes


def test_fresh_database_opened_by_four_processes_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    assert _start_all(_open_and_list, (url,)) == ["ok"] * PROCESSES
    db = sqlite3.connect(tmp_path / "metadata.db")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


def test_four_processes_recording_runs_keep_versions_gapless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    assert _start_all(_pipeline_runs, (url,), per_worker=True) == ["ok"] * PROCESSES

    store = SqlMetadataStore(url)
    total = PROCESSES * RUNS_EACH
    runs = store.list_runs(RunFilter(limit=0))
    assert len(runs) == total
    assert {r.status for r in runs} == {RunStatus.COMPLETED}
    for step_id in STEPS:
        versions = [
            a.version for a in store.list_artifacts(ArtifactFilter(name=f"race.{step_id}", limit=0))
        ]
        assert sorted(versions) == list(range(1, total + 1))
    for run in runs:
        steps = store.step_runs(run.id)
        assert [s.step_id for s in steps] == list(STEPS)
        io = store.step_io(run.id)
        load, train, evaluate = (io[s.id] for s in steps)
        assert train["in"]["x"] == load["out"]["out"]
        assert evaluate["in"]["x"] == train["out"]["out"]
        assert all(a.run_id == run.id for a in (load["out"]["out"], train["out"]["out"]))
    assert Counter(len(store.step_runs(r.id)) for r in runs) == {len(STEPS): total}
    store.close()
