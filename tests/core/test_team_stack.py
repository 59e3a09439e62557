"""A pipeline on a production-like stack: artifacts in S3 (moto), metadata in PostgreSQL, and
its results read back by another process that builds the same stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from team_stack import build_stack, read_back, team_training

from bevel.api import run_pipeline
from bevel.errors import MetadataError
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.servers import DatabaseServer, S3Server, free_port

pytestmark = pytest.mark.servers
HERE = Path(__file__).parent


def test_s3_artifacts_and_postgres_metadata_read_from_another_process(
    s3: S3Server, postgres: DatabaseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))
    args = (f"s3://{s3.new_bucket()}/team", s3.endpoint_url, postgres.new_database())
    stack = build_stack(*args)
    try:
        run = run_pipeline(team_training, params={"rows": 60}, stack=stack)
        assert run.status == "completed"
        here = read_back(stack)
        again = run_pipeline(team_training, params={"rows": 60}, stack=stack)
        assert {s.status for s in again.steps.values()} == {"cached"}
    finally:
        stack.close()
    out = subprocess.run(
        [sys.executable, str(HERE / "team_stack.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "BEVEL_HOME": str(tmp_path / "elsewhere")},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    there = json.loads(out.stdout.splitlines()[-1])
    assert there["id"] == again.id  # the cached rerun is the last run
    assert there["steps"] == {"make": "cached", "fit": "cached", "score": "cached"}
    assert there["uris"] == here["uris"] and all(u.startswith("s3://") for u in there["uris"])
    assert there["frame"] == [[60, 2], float(sum(range(60)))]
    assert there["model"] == here["model"] == {"slope": 1.0, "n": 60.0}
    assert there["scores"] == pytest.approx(here["scores"])
    assert here["metrics"] == {"total": pytest.approx(here["scores"])}
    assert "fitting on 60 rows" in str(here["logs"])
    assert not (tmp_path / ".bevel" / "artifacts").exists()  # nothing went to local files


@pytest.mark.timeout(30)  # a bounded connect timeout: it must not hang
@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_unreachable_database_fails_fast_naming_it(scheme: str) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    store = SqlMetadataStore(f"{scheme}://bevel:s3cret@{address}/bevel")
    with pytest.raises(MetadataError) as err:
        store.list_runs()
    text = str(err.value)
    assert address in text and "s3cret" not in text
    assert "reachable" in text  # the hint
