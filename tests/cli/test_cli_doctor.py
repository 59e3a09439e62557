"""A damaged or unreadable store says what to do, and ``bevel doctor`` checks it.

Before, a damaged ``metadata.db`` gave only SQLite's words ("connecting failed: file is not a
database") with no hint, and nothing checked a store or said where bevel's files are. Each test
records real runs in a fresh process, damages the database the way disks and copies do (a file
overwritten with other bytes; pages whose headers are broken), and then follows the hint
literally.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from readonly_access import read_only_role, read_only_tree, without_write_override

from bevel.testing.servers import DatabaseServer

BEVEL = [sys.executable, "-c", "import sys; from bevel.cli.main import main; main(sys.argv[1:])"]
PIPELINE = """
from bevel import pipeline, step

@step
def make(n: int = 3) -> list[int]:
    return list(range(n))

@step
def total(xs: list[int]) -> int:
    return sum(xs)

@pipeline
def job(n: int = 3):
    total(make(n))
"""


def bevel(*args: str, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *BEVEL, *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def hint_of(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.startswith("hint: ")]
    assert len(lines) == 1, done.stderr
    return lines[0].removeprefix("hint: ")


@pytest.fixture
def project(bevel_home: Path) -> Path:
    """Two recorded runs; returns the metadata database."""
    Path("job.py").write_text(PIPELINE)
    for n in ("1", "2"):
        done = bevel("run", "job.py:job", "-p", f"n={n}")
        assert done.returncode == 0, done.stderr
    return bevel_home / "metadata.db"


def back_up(db: Path, to: Path) -> None:
    """A consistent copy, as ``sqlite3 metadata.db .backup`` makes it."""
    source, target = sqlite3.connect(db), sqlite3.connect(to)
    with target:
        source.backup(target)
    source.close()
    target.close()


def damage(db: Path, how: str) -> None:
    sqlite3.connect(db).close()  # the last connection checkpoints the WAL into the file
    if how == "not a database":  # overwritten by something else (a bad copy, another file)
        db.write_bytes(random.Random(0).randbytes(db.stat().st_size))
        return
    data = bytearray(db.read_bytes())  # "disk image is malformed": page headers broken
    for page in range(4096, len(data), 4096):
        data[page : page + 16] = b"\xff" * 16
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["not a database", "malformed"])
def test_a_damaged_database_says_what_to_do(project: Path, how: str) -> None:
    damage(project, how)
    for args in (("runs", "list"), ("run", "job.py:job")):
        done = bevel(*args)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert "the database file is damaged" in done.stderr, done.stderr
        hint = hint_of(done)
        assert hint.startswith("`bevel doctor` checks the store"), hint
        assert f"restore {project} from a backup" in hint

    doctor = bevel("doctor")
    assert doctor.returncode == 1, doctor.stdout
    assert f"problem {project} is damaged" in " ".join(doctor.stdout.split()), doctor.stdout
    assert "metadata.db (" in doctor.stdout  # where bevel's files are, with their sizes
    assert "stack" in doctor.stdout and "not checked" in doctor.stdout

    # Follow the hint literally: move it aside, start an empty store.
    command = hint.split("to start an empty store: ")[1].split(" (the runs")[0]
    subprocess.run(command, shell=True, check=True)
    assert (project.parent / "damaged" / "metadata.db").exists()
    assert bevel("doctor").returncode == 0
    assert bevel("run", "job.py:job").returncode == 0
    listed = bevel("runs", "list")
    assert listed.returncode == 0 and listed.stdout.count("completed") == 1, listed.stdout


def test_restoring_a_backup_as_the_hint_says(project: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    back_up(project, backup)
    damage(project, "malformed")
    hint = hint_of(bevel("runs", "list"))
    assert f"restore {project} from a backup (and delete {project}-wal and {project}-shm)" in hint
    shutil.copyfile(backup, project)
    for extra in (f"{project}-wal", f"{project}-shm"):
        Path(extra).unlink(missing_ok=True)
    listed = bevel("runs", "list")
    assert listed.returncode == 0 and listed.stdout.count("completed") == 2, listed.stdout
    doctor = bevel("doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert "2 run(s) and 4 artifact version(s) recorded" in doctor.stdout


def test_doctor_on_a_healthy_project(project: Path) -> None:
    doctor = bevel("doctor")
    assert doctor.returncode == 0, doctor.stdout
    out = " ".join(doctor.stdout.split())
    assert f"home {project.parent}" in out
    assert f"ok {project} passes SQLite's integrity check" in out
    assert "ok schema revision" in out and "(current)" in out
    assert "stack default" in out
    assert f"artifacts {project.parent / 'artifacts'} ok the folder exists and is writable" in out
    assert "problem" not in out


def test_doctor_changes_nothing_where_there_is_no_project(bevel_home: Path) -> None:
    doctor = bevel("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "does not exist yet" in doctor.stdout
    assert not bevel_home.exists()


def test_a_schema_from_a_newer_bevel(project: Path) -> None:
    with sqlite3.connect(project) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    doctor = bevel("doctor")
    assert doctor.returncode == 1
    out = " ".join(doctor.stdout.split())
    assert "problem schema revision 9999, which this bevel does not know" in out
    assert "hint: upgrade bevel" in out


def test_a_read_only_bevel_folder(project: Path) -> None:
    prefix = without_write_override()
    sqlite3.connect(project).close()  # no WAL index left: it cannot be made in a read-only folder
    with read_only_tree(project.parent):
        ran = bevel("run", "job.py:job", "--no-cache", prefix=prefix)
        doctor = bevel("doctor", prefix=prefix)
    assert ran.returncode == 1
    hint = hint_of(ran)
    assert f"bevel cannot write {project}" in hint and "`bevel doctor` checks the store" in hint
    assert doctor.returncode == 0, doctor.stdout  # reading works: notes, not problems
    out = " ".join(doctor.stdout.split())
    assert "note the folder is read-only here: reading works" in out
    assert "2 run(s) and 4 artifact version(s) recorded" in out
    assert "read-only here: loading artifacts works, saving them does not" in out


def test_doctor_on_postgresql_with_a_read_only_role(
    bevel_home: Path, postgres: DatabaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    monkeypatch.setenv("BEVEL_STORE_URL", url)
    Path("job.py").write_text(PIPELINE)
    assert bevel("run", "job.py:job").returncode == 0
    healthy = bevel("doctor")
    assert healthy.returncode == 0, healthy.stdout
    assert "ok this user may record runs" in " ".join(healthy.stdout.split())

    monkeypatch.setenv("BEVEL_STORE_URL", read_only_role(postgres, url))
    doctor = bevel("doctor")
    out = " ".join(doctor.stdout.split())
    assert doctor.returncode == 0, doctor.stdout
    assert "1 run(s) recorded" in out
    assert "note this database user may only read" in out


def test_an_unreachable_server_is_a_problem(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_STORE_URL", "postgresql+psycopg://bevel:secret@127.0.0.1:1/none")
    doctor = bevel("doctor")
    assert doctor.returncode == 1
    assert "secret" not in doctor.stdout
    assert "problem" in doctor.stdout and "hint:" in doctor.stdout


def test_a_rest_home_store_that_cannot_be_reached(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another flavor (the REST store) is probed with one read, through its own errors."""
    monkeypatch.setenv("BEVEL_STORE_URL", "http://127.0.0.1:1")
    doctor = bevel("doctor")
    assert doctor.returncode == 1, doctor.stdout
    out = " ".join(doctor.stdout.split())
    assert "metadata http://127.0.0.1:1 (flavor rest, from $BEVEL_STORE_URL)" in out
    assert "problem" in out and "hint: check the URL and that the server runs" in out
    from bevel.stack.home import shown_url

    assert shown_url("https://bevel:secret@example.org/") == "https://bevel:***@example.org/"


def _tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file below ``root``: size, modification time and contents."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_doctor_leaves_the_project_as_it_found_it(project: Path) -> None:
    # Regression: doctor's read-only look at metadata.db left empty metadata.db-wal and -shm
    # files beside it (a mode=ro SQLite connection creates them and cannot remove them).
    root = project.parent.parent
    before = _tree(root)
    assert not [name for name in before if name.endswith(("-wal", "-shm"))], sorted(before)
    done = bevel("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passes SQLite's integrity check" in done.stdout
    assert _tree(root) == before


def test_doctor_does_not_create_the_store_of_the_stack_it_checks(project: Path) -> None:
    # Regression: checking a stack whose SQLite metadata store did not exist yet created it
    # (a database with bevel's schema) just to list its runs.
    Path("side").mkdir()
    for command in (
        ("component", "register", "metadata_store", "side-db", "--flavor", "sqlite",
         "--path", "side/side.db"),
        ("stack", "register", "side", "-a", "local-artifacts", "-m", "side-db"),
    ):  # fmt: skip
        assert bevel(*command).returncode == 0
    root = project.parent.parent
    before = _tree(root)
    done = bevel("doctor", "--stack", "side")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "side.db does not exist yet: the first run creates it" in done.stdout
    assert _tree(root) == before
    assert not Path("side/side.db").exists()
