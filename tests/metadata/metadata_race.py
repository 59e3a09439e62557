"""Worker processes for the multi-process metadata tests (importable by spawned children)."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from typing import Any

from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import RunStatus, StepCompletion
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import done, make_artifact, make_run, make_step

PROCESSES = 4
RUNS_EACH = 20
STEPS = ("load", "train", "evaluate")


def open_and_list(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        SqlMetadataStore(url).list_runs()
        results.put("ok")
    except Exception as err:  # reported to the parent, which fails the test
        results.put(f"{type(err).__name__}: {err}")


def pipeline_runs(url: str, worker: int, barrier: Any, results: Any) -> None:
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


def start_all(target: Any, args: tuple[Any, ...], *, per_worker: bool = False) -> list[str]:
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


def assert_race_is_consistent(url: str) -> None:
    """4 processes x 20 runs x 3 steps on ``url``: every run recorded, versions 1..80 per name."""
    assert start_all(pipeline_runs, (url,), per_worker=True) == ["ok"] * PROCESSES

    store = SqlMetadataStore(url)
    total = PROCESSES * RUNS_EACH
    runs = store.list_runs(RunFilter(limit=0))
    assert len(runs) == total
    assert {r.status for r in runs} == {RunStatus.COMPLETED}
    for step_id in STEPS:
        found = store.list_artifacts(ArtifactFilter(name=f"race.{step_id}", limit=0))
        assert sorted(a.version for a in found) == list(range(1, total + 1))
    for run in runs:
        steps = store.step_runs(run.id)
        assert [s.step_id for s in steps] == list(STEPS)
        load, train, evaluate = (store.step_io(run.id)[s.id] for s in steps)
        assert train["in"]["x"] == load["out"]["out"]
        assert evaluate["in"]["x"] == train["out"]["out"]
        assert {a.run_id for a in (load["out"]["out"], evaluate["out"]["out"])} == {run.id}
    store.close()
