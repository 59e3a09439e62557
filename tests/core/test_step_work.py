"""What one step of a run costs, counted: transactions, statements, files, folders, threads.

Per-step work is the difference between a long and a short chain of the same steps, divided by
the difference in steps, so that what a run does once (compile, record the run, sweep .tmp/)
drops out. The numbers are the design (docs/ARCHITECTURE.md, "Per-step cost"): one write
transaction to start a step run and one to finish it; a cache hit one lookup and one write;
a small new artifact one folder, two files (its bytes, its marker) and two renames; content
that is stored already no write at all. Counted, not timed (no thresholds on wall time).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bevel import pipeline, step
from bevel.api import run_pipeline
from bevel.stack.stack import default_stack
from bevel.testing.work import counting


@step
def first(base: int) -> int:
    return base


@step
def inc(x: int) -> int:
    return x + 1


@pipeline
def chain(n: int = 3, base: int = 0) -> None:
    x = first(base)
    for _ in range(n - 1):
        x = inc(x)


SHORT, LONG = 4, 14
STEPS = LONG - SHORT


def _buckets(home: Path) -> int:
    data = home / "artifacts" / "data"
    return len(os.listdir(data)) if data.is_dir() else 0


def _per_step(home: Path, base: int, *, cache: bool) -> tuple[Counter[str], int]:
    """(work per step, new data/<hh>/ folders per step) of LONG vs SHORT steps."""
    runs = []
    for n, offset in ((SHORT, 0), (LONG, 1000)):
        before = _buckets(home)
        with counting() as work:
            chain.with_options(enable_cache=cache)(n=n, base=base + offset)
        runs.append((work, _buckets(home) - before))
    (short, short_buckets), (long, long_buckets) = runs
    per_step = Counter({k: (long[k] - short[k]) / STEPS for k in set(long) | set(short)})
    return per_step, long_buckets - short_buckets  # type: ignore[arg-type]


@pytest.fixture
def home(bevel_home: Path) -> Path:
    chain.with_options(enable_cache=False)(n=2, base=-100)  # the project exists: not counted
    return bevel_home


def test_a_step_that_runs_costs_two_transactions_and_writes_its_output_once(home: Path) -> None:
    work, buckets = _per_step(home, 10_000, cache=False)
    assert work["sqlite write transaction"] == 2  # start, finish
    assert work["sqlite read transaction"] == 0
    assert work["statement"] <= 6
    assert work["thread"] == 0
    new = buckets / STEPS  # folders data/<hh>/ made the first time content lands there
    assert work["os.mkdir"] == 1 + new  # the output's folder
    assert work["open for writing"] == 2  # its file, its marker
    assert work["os.rename"] == 2 + new  # the folder into place, the marker
    assert work["shutil.rmtree"] == work["os.remove"] == work["os.rmdir"] == 0
    assert work["os.chmod"] == 0
    assert work["os.scandir"] == 1  # the one look for its folder (not there: no marker either)
    # Its input came in memory: no look for private copies of inputs loaded from the store.
    assert work["stat"] <= 3 + 2 * new


def test_a_step_whose_output_is_stored_already_writes_no_file(home: Path) -> None:
    chain.with_options(enable_cache=False)(n=SHORT, base=20_000)
    chain.with_options(enable_cache=False)(n=LONG, base=21_000)
    work, _ = _per_step(home, 20_000, cache=False)  # the same values again: deduplicated
    assert work["sqlite write transaction"] == 2
    assert work["open for writing"] == work["os.mkdir"] == work["os.rename"] == 0
    assert work["shutil.rmtree"] == work["os.remove"] == 0
    assert work["open for reading"] == 1  # its marker, compared with one listing
    assert work["os.scandir"] == 1
    assert work["stat"] <= 3  # its file (vs the marker); the marker and folder once recorded


def test_a_cache_hit_costs_one_lookup_one_write_and_no_artifact_bytes(home: Path) -> None:
    chain.with_options(enable_cache=True)(n=SHORT, base=30_000)
    chain.with_options(enable_cache=True)(n=LONG, base=31_000)
    work, _ = _per_step(home, 30_000, cache=True)
    assert work["sqlite read transaction"] == 1  # the lookup
    assert work["sqlite write transaction"] == 1  # the CACHED step run
    assert work["open for writing"] == work["os.mkdir"] == work["os.rename"] == 0
    # The outputs are checked (the cache never hands out an artifact whose bytes are gone)
    # by their marker and a listing; their bytes are not read.
    assert work["open for reading"] == 1 and work["os.scandir"] == 1
    assert work["stat"] <= 1  # the listing is the look at the folder: one stat of its file


class _NamedWorkers:
    """An orchestrator whose steps run as a remote worker runs them (``run_task`` rebuilding the
    stack by name, the worker named, as on Dask), in threads of this process."""

    name = "named-workers"
    in_process = False
    remote = False

    def executor(self) -> Any:
        return _Naming(ThreadPoolExecutor(1))


class _Naming:
    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.pool.submit(functools.partial(fn, worker="tcp://127.0.0.1:4242"), *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def test_the_worker_that_took_a_step_is_recorded_in_its_first_write(home: Path) -> None:
    """A worker notes which worker took a step (so a redelivery can name the one that died)
    in the transaction that starts the step run, not in one of its own."""
    stack = dataclasses.replace(default_stack(), orchestrator=_NamedWorkers())
    try:
        counts = []
        for n in (SHORT, LONG):
            with counting() as work:
                ran = run_pipeline(chain, params={"n": n, "base": 40_000}, enable_cache=False,
                                   stack=stack)  # fmt: skip
            counts.append(work)
        assert (counts[1]["sqlite write transaction"] - counts[0]["sqlite write transaction"]) == (
            2 * STEPS
        )
        store = stack.metadata_store
        workers = {store.get_metadata("step_run", s.id).get("worker") for s in ran.steps.values()}
        assert workers == {"tcp://127.0.0.1:4242"}
    finally:
        stack.close()
