"""Reading works with read-only access to the metadata store: reads never write.

Listing used to reap dead runs (a write) as a side effect, so with read-only credentials it
failed as soon as one run's process had died. Each test records real runs (one of them killed
mid-step with SIGKILL, so it stays "running"), takes write access away, and runs every read
command and the Client API in a fresh process: all work, and the dead run is shown as such.
The one write tried, ``bevel runs reap``, fails with a hint that says what access is missing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from readonly_access import read_only_role, read_only_tree, without_write_override

from bevel.client.client import Client
from bevel.testing.servers import DatabaseServer

HERE = Path(__file__).resolve().parent
BEVEL = [sys.executable, "-c", "import sys; from bevel.cli.main import main; main(sys.argv[1:])"]
PIPELINE = """
import os, signal
from bevel import pipeline, step

@step
def make(n: int = 3) -> list[int]:
    if os.environ.get("DIE"):
        os.kill(os.getpid(), signal.SIGKILL)
    return list(range(n))

@step
def total(xs: list[int]) -> int:
    print("summing", xs)
    return sum(xs)

@pipeline
def job(n: int = 3):
    total(make(n))
"""


def record_runs(project: Path, env: dict[str, str]) -> str:
    """One completed run (its name is returned) and one killed mid-step."""
    script = project / "job.py"
    script.write_text(PIPELINE)
    ok = subprocess.run(
        [*BEVEL, "run", f"{script}:job", "--name", "good"], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    killed = subprocess.run(
        [*BEVEL, "run", f"{script}:job", "--no-cache"], env={**env, "DIE": "1"}, capture_output=True
    )
    assert killed.returncode == -9
    return "good"


def read_everything(env: dict[str, str], *, wrapper: list[str] = ()) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [*wrapper, sys.executable, str(HERE / "readonly_reads.py"), "good"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def assert_reads_work(found: dict, write_hint: str) -> None:  # type: ignore[type-arg]
    api, cli = found["api"], found["cli"]
    assert api["value"] == 3 and "summing [0, 1, 2]" in api["logs"]
    assert api["consumers"] == ["total"]
    assert api["explain"].startswith("not cached: no earlier completed run")
    assert api["runs"][0] == "completed"
    assert api["runs"][1].startswith("running, but its process is gone (pid ")
    failures = {cmd: out for cmd, (code, out) in cli.items() if code != 0 and cmd != "reap (write)"}
    assert failures == {}
    assert "running, but its process is gone" in cli["runs list --status running"][1]
    assert "would mark run job-" in cli["runs reap --dry-run"][1]
    code, out = cli["reap (write)"]
    assert code == 1 and write_hint in " ".join(out.split()), out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BEVEL_STORE_URL", raising=False)
    monkeypatch.delenv("BEVEL_STACK", raising=False)
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_read_only_sqlite_url(project: Path) -> None:
    """The SQLite way to hand out read-only credentials: open the file with mode=ro."""
    env = dict(os.environ)
    record_runs(project, env)
    db = project / ".bevel" / "metadata.db"
    env["BEVEL_STORE_URL"] = f"sqlite:///file:{db}?mode=ro&uri=true"
    assert_reads_work(read_everything(env), f"bevel cannot write {db}: the file or its folder")
    with Client() as client:  # nothing was reaped by all that reading
        assert sorted(r.status.value for r in client.runs()) == ["completed", "running"]


@pytest.mark.parametrize("index", ["no WAL index", "WAL index left behind"])
def test_a_read_only_bevel_folder(project: Path, index: str) -> None:
    """A project folder that cannot be written (a read-only mount, another user's project).

    Without ``metadata.db-shm`` SQLite cannot even read a WAL database in a read-only folder,
    so bevel opens it immutable; with the index left behind (a crashed writer) it reads as
    usual."""
    prefix = without_write_override()
    env = dict(os.environ)
    record_runs(project, env)
    home = project / ".bevel"
    db = home / "metadata.db"
    # The killed run left its WAL and index behind, as any crashed writer does; otherwise the
    # last connection to close cleans them up.
    assert Path(f"{db}-wal").exists() and Path(f"{db}-shm").exists()
    if index == "no WAL index":
        last = sqlite3.connect(db)
        last.execute("select count(*) from runs").fetchone()
        last.close()
        assert not Path(f"{db}-shm").exists() and not Path(f"{db}-wal").exists()
    with read_only_tree(home):
        assert stat.S_IMODE(home.stat().st_mode) == 0o555
        found = read_everything(env, wrapper=prefix)
    assert_reads_work(found, f"bevel cannot write {db}: the file or its folder is read-only")


def test_a_read_only_postgresql_role(project: Path, postgres: DatabaseServer) -> None:
    url = postgres.new_database()
    env = {**os.environ, "BEVEL_STORE_URL": url}
    record_runs(project, env)
    reader = read_only_role(postgres, url)
    found = read_everything({**env, "BEVEL_STORE_URL": reader})
    assert_reads_work(found, "this database user may only read: reading works")
