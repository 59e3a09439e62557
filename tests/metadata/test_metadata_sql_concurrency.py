"""Several processes sharing one SQLite file: no "database is locked", no lost or duplicate
artifact versions, and a fresh database created exactly once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from metadata_race import PROCESSES, assert_race_is_consistent, open_and_list, start_all

from bevel.metadata.sql.revision import HEAD


@pytest.mark.slow
def test_fresh_database_opened_by_four_processes_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    assert start_all(open_and_list, (url,)) == ["ok"] * PROCESSES
    db = sqlite3.connect(tmp_path / "metadata.db")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


@pytest.mark.slow
def test_four_processes_recording_runs_keep_versions_gapless(tmp_path: Path) -> None:
    assert_race_is_consistent(f"sqlite:///{tmp_path / 'metadata.db'}")
