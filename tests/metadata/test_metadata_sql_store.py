"""Behaviour specific to the SQL store: URLs and errors, time zones, threads, speed."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bevel.errors import ConfigError, MetadataError
from bevel.metadata.base import ArtifactFilter, RunFilter
from bevel.metadata.records import StepCompletion
from bevel.metadata.sql.db import trace_statements
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import done, make_artifact, make_run, make_step


@pytest.fixture
def store(tmp_path: Path) -> SqlMetadataStore:
    return SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")


def test_creating_a_store_does_not_connect(tmp_path: Path) -> None:
    store = SqlMetadataStore(f"sqlite:///{tmp_path / 'missing' / 'metadata.db'}")
    with pytest.raises(MetadataError) as err:
        store.list_runs()
    assert str(tmp_path / "missing") in str(err.value)
    assert err.value.hint is not None and "folder" in err.value.hint


def test_invalid_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        SqlMetadataStore("not a url")
    assert "not a url" in str(err.value)


def test_missing_driver_names_the_masked_url_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed: import fails
    with pytest.raises(MetadataError) as err:
        SqlMetadataStore("postgresql+psycopg://bevel:s3cret@127.0.0.1:1/db")
    text = str(err.value)
    assert "s3cret" not in text and "bevel:***@127.0.0.1:1/db" in text
    assert "pip install" in text


def test_url_is_shown_masked() -> None:
    store = SqlMetadataStore("sqlite:///x.db")
    assert store.url == "sqlite:///x.db"
    assert repr(store) == "SqlMetadataStore('sqlite:///x.db')"


def test_times_come_back_aware_utc(store: SqlMetadataStore) -> None:
    plus2 = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 1, 14, 0, 0, 500, tzinfo=plus2)
    naive = datetime(2024, 5, 1, 12, 0, 1)
    a = store.create_run(make_run(created=local, heartbeat=naive))
    got = store.get_run(a.id)
    assert got.created == local and got.created.tzinfo is UTC
    assert got.heartbeat == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize("where", ["file", "memory"])
def test_threads_share_one_store(tmp_path: Path, where: str) -> None:
    # Regression (memory): ``sqlite://`` has one shared connection, and a second thread's BEGIN
    # inside the first one's transaction failed with "cannot start a transaction within a
    # transaction" (the engine's heartbeat thread does exactly that).
    url = "sqlite://" if where == "memory" else f"sqlite:///{tmp_path / 'metadata.db'}"
    store = SqlMetadataStore(url)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                run = store.create_run(make_run(name=f"t{n}-{i}"))
                step = make_step(run, "s")
                store.start_step_run(step)
                store.heartbeat(run.id, datetime.now(UTC))
                store.list_runs(RunFilter(limit=5))
                store.finish_step_run(
                    StepCompletion(done(step), outputs=(make_artifact("shared", "out"),))
                )
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_runs(RunFilter(limit=0))) == 60
    versions = sorted(a.version for a in store.list_artifacts(ArtifactFilter(limit=0)))
    assert versions == list(range(1, 61))
    store.close()


def test_statements_per_step_and_per_listing_are_few(store: SqlMetadataStore) -> None:
    """Deterministic guard against regressions such as reconnecting per call or N+1 listing:
    count the SQL statements, not the seconds."""
    store.list_runs()  # connect and check the schema once
    runs = [store.create_run(make_run(at=i)) for i in range(50)]
    with trace_statements() as statements:
        step = make_step(runs[0], "s")
        store.start_step_run(step)
        store.finish_step_run(
            StepCompletion(done(step), outputs=(make_artifact("a", "out"),), inputs=())
        )
        per_step = len(statements)
        statements.clear()
        assert len(store.list_runs(RunFilter(limit=50))) == 50
        listing = len(statements)
    assert per_step <= 6, statements  # start: run check + insert; finish: 4 (no run check)
    assert listing == 1, statements
