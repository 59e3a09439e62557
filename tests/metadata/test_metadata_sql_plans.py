"""Every query the SQL store runs on behalf of a run or a CLI command is served by an index.

Deterministic (SQLite's planner without ANALYZE statistics picks the same plan for any table
size): the store's statements are recorded while it does what `bevel run`, `bevel runs
list/show`, `bevel logs`, caching, deleting and reaping do, and each one's ``EXPLAIN QUERY PLAN``
must not scan a whole table. That is what keeps a store of 10,000 runs and 100,000 step runs as
fast as an empty one (``benchmarks/run.py --only scale`` measures it).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import (
    MetadataEntry,
    MetricRecord,
    RunStatus,
    StepCompletion,
    StepStatus,
)
from bevel.metadata.sql.db import trace_statements
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import T0, done, make_artifact, make_run, make_step

# Scans that are the point of the query: garbage collection needs every run id and every uri
# under a prefix; the pipelines listing counts every run per pipeline (on the covering index).
# Deleting and gc ask which uris records still name: uri has no index (MySQL cannot index
# unbounded text), and neither is on the path of a run or a listing.
_WHOLE_BY_DESIGN = (
    "SELECT id FROM runs",
    "SELECT DISTINCT uri FROM artifacts WHERE uri",
    "SELECT uri FROM artifacts WHERE uri IN",
    "SELECT p.name, p.created, p.source, s.runs, s.last_run FROM pipelines p",
)
_SCAN = re.compile(r"\bSCAN (?P<table>\w+)(?P<how>.*)")


def _workload(store: SqlMetadataStore) -> None:
    """What the engine, the CLI and the Client ask of the store, once each."""
    first = store.create_run(make_run(at=0))
    step = make_step(first, "train", cache_key="key")
    store.start_step_run(step)
    (model,) = store.finish_step_run(
        StepCompletion(
            done(step),
            outputs=(make_artifact("train.train.model", "model"),),
            metrics=(MetricRecord(first.id, step.id, "acc", 0.9, None, T0),),
            metadata=(MetadataEntry("step_run", step.id, "k", 1, T0),),
        )
    )
    store.heartbeat(first.id, T0 + timedelta(seconds=5))
    store.finish_run(first.id, RunStatus.COMPLETED, ended=T0 + timedelta(seconds=9))
    second = store.create_run(make_run(at=10))
    hit = store.find_cached("key")
    assert hit is not None
    cached = replace(
        done(make_step(second, "train", at=10), StepStatus.CACHED), cached_from=step.id
    )
    store.finish_step_run(StepCompletion(cached, reused_outputs=(("model", model.id),)))
    consumer = make_step(second, "evaluate", at=11)
    store.start_step_run(consumer)
    store.finish_step_run(StepCompletion(done(consumer), inputs=(("model", model.id),)))
    store.log_metadata([MetadataEntry("run", second.id, "owner", "me", T0)])
    store.previous_step_run("train", "train", T0 + timedelta(seconds=20))
    # bevel runs list / show / logs, the Client
    runs = store.list_runs(RunFilter(limit=50))
    store.list_runs(RunFilter(pipeline="train", status=RunStatus.COMPLETED, name="tra", limit=50))
    ids = [r.id for r in runs]
    store.mark_stale_runs(T0, run_ids=ids)
    store.mark_stale_runs(T0)
    store.latest_metrics(ids, ["acc"])
    store.latest_metrics(ids)
    store.metadata_of("run", ids)
    store.get_run(second.name)
    store.get_run(second.id[:8])
    store.step_runs(second.id)
    store.step_io(second.id)
    store.step_details([step.id, consumer.id])
    store.get_step_run(step.id[:8])
    store.metrics(first.id)
    store.get_metadata("run", second.id)
    store.lineage(artifact_id=model.id)
    store.lineage(step_run_id=step.id)
    store.get_artifact(model.id)
    store.get_artifact(model.id[:8])
    store.get_artifact(f"{model.name}:1")
    store.get_artifact(model.name)
    store.list_artifacts(ArtifactFilter())  # bevel artifacts list
    store.list_artifacts(ArtifactFilter(name=model.name))
    store.list_artifacts(ArtifactFilter(run_id=first.id))
    store.references("/store/", [model.uri])
    store.list_pipelines()
    # Deleting
    store.finish_run(second.id, RunStatus.COMPLETED, ended=T0 + timedelta(seconds=30))
    store.delete_run(first.id)
    store.delete_run(second.id)


def _derived(name: str) -> bool:
    """A subquery's rows (already narrowed by an index), not a table (tables and their aliases
    both count as tables)."""
    return name.startswith("(") or name == "ranked"


def _bind_all(sql: str) -> dict[str, object]:
    return {name: "x" for name in re.findall(r":(\w+)", re.sub(r"'[^']*'", "", sql))}


def test_the_store_never_scans_a_whole_table(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    store = SqlMetadataStore(f"sqlite:///{path}")
    store.list_runs()
    with trace_statements() as statements:
        _workload(store)
    store.close()
    db = sqlite3.connect(path)
    scans: dict[str, list[str]] = {}
    checked = 0
    for sql in dict.fromkeys(statements):
        if sql.startswith("INSERT") or sql.startswith(_WHOLE_BY_DESIGN):
            continue
        checked += 1
        plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", _bind_all(sql))]
        for line in plan:
            m = _SCAN.search(line)
            if m and "INDEX" not in m["how"] and not _derived(m["table"]):
                scans.setdefault(sql, []).append(line)
    db.close()
    assert checked >= 30
    assert scans == {}


def test_listing_runs_walks_the_creation_index_without_sorting(tmp_path: Path) -> None:
    """`bevel runs list` reads the newest runs off an index and stops at the limit."""
    path = tmp_path / "metadata.db"
    store = SqlMetadataStore(f"sqlite:///{path}")
    store.create_run(make_run())
    with trace_statements() as statements:
        store.list_runs(RunFilter(limit=50))
        store.list_runs(RunFilter(pipeline="train", limit=50))
        store.list_runs(RunFilter(status=RunStatus.RUNNING, limit=50))
    store.close()
    db = sqlite3.connect(path)
    for sql in statements:
        plan = " / ".join(
            row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", _bind_all(sql))
        )
        assert "USING INDEX ix_runs_" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # the id tie-break: RIGHT PART
    db.close()


def test_listing_artifacts_walks_the_creation_index_without_sorting(tmp_path: Path) -> None:
    """`bevel artifacts list` (newest first) reads a page off ix_artifacts_created (revision
    0005); before it, SQLite read the whole table and sorted it."""
    path = tmp_path / "metadata.db"
    store = SqlMetadataStore(f"sqlite:///{path}")
    store.list_runs()
    with trace_statements() as statements:
        store.list_artifacts(ArtifactFilter(limit=50))
        store.list_artifacts(ArtifactFilter(limit=50, offset=50))
    store.close()
    db = sqlite3.connect(path)
    for sql in statements:
        plan = " / ".join(
            row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", _bind_all(sql))
        )
        assert "USING INDEX ix_artifacts_created" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    db.close()


def _vm_steps(store: SqlMetadataStore, action: Callable[[], object]) -> int:
    """SQLite virtual-machine instructions ``action`` costs on ``store``'s one connection."""
    (raw,) = store._db._idle  # type: ignore[attr-defined]  # the pooled connection, made by a read
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(tick, 1)
    try:
        action()
    finally:
        raw.set_progress_handler(None, 1)
    return steps[0]


def _more_versions(path: Path, name: str, count: int) -> None:
    """``count`` more versions of the artifact ``name``, written as copies of its first one."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    first = dict(db.execute("SELECT * FROM artifacts WHERE name = ?", (name,)).fetchone())
    copies = [
        {**first, "id": f"copy{v}", "version": v, "uri": f"/store/copy{v}"}
        for v in range(2, count + 2)
    ]
    with db:
        db.executemany(
            f"INSERT INTO artifacts ({', '.join(first)}) VALUES ({', '.join('?' * len(first))})",
            [tuple(c.values()) for c in copies],
        )
    db.close()


def test_numbering_a_new_artifact_version_costs_the_same_whatever_the_versions_stored(
    tmp_path: Path,
) -> None:
    """A step's output gets its name's next version: ``max(version)`` of that one name is the
    last entry of the (name, version) index. Asked as a GROUP BY over an IN list, SQLite read
    every version of the name (no scan in the plan, so the test above passed): a 10-step run on
    a store of 10,000 runs spent 2-7 ms per step there. Counted in VM instructions, which do
    not depend on the machine's load."""
    costs = []
    for stored in (2, 2_000):
        path = tmp_path / f"{stored}.db"
        store = SqlMetadataStore(f"sqlite:///{path}")
        run = store.create_run(make_run(at=0))
        step = make_step(run, "train")
        store.start_step_run(step)
        store.finish_step_run(
            StepCompletion(done(step), outputs=(make_artifact("train.train.model", "model"),))
        )
        _more_versions(path, "train.train.model", stored - 1)
        later = make_step(run, "train_2", at=1)
        store.start_step_run(later)
        completion = StepCompletion(
            done(later), outputs=(make_artifact("train.train.model", "model"),)
        )
        costs.append(_vm_steps(store, partial(store.finish_step_run, completion)))
        assert store.get_artifact("train.train.model").version == stored + 1
        store.close()
    assert costs[1] == costs[0], costs
