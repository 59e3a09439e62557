"""The import-budget guard: `import bevel` (and `from bevel import step, pipeline`) stays light,
and so does the run path a worker imports before it knows which stores it will use.

Deterministic: it checks *which* modules get imported, not how long it takes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "pandas",
    "numpy",
    "pyarrow",
    "pydantic",
    "fastapi",
    "click",
    "rich",
    "fsspec",
    "yaml",
    "sklearn",
)


def imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    ["import bevel", "from bevel import step, pipeline", "import bevel; bevel.__version__"],
)
def test_import_bevel_imports_no_heavy_library(code: str) -> None:
    heavy = sorted(set(HEAVY) & imported_after(code))
    assert not heavy, f"`{code}` imported {heavy}; import them lazily where they are needed"


def test_defining_steps_and_pipelines_stays_light() -> None:
    code = (
        "from bevel import step, pipeline\n"
        "@step\ndef a(x: int = 1) -> int:\n    return x\n"
        "@pipeline\ndef p():\n    a()\n"
    )
    heavy = sorted(set(HEAVY) & imported_after(code))
    assert not heavy, heavy


# What a worker (or any process about to run a step) imports before a stack is built: no store
# implementation may come with it. SQLAlchemy alone costs ~150 ms, and a worker whose stack uses
# another metadata store (a REST store) must never pay it.
RUN_PATH = (
    "import bevel.run.task",
    "import bevel.run.worker",
    "import bevel.run.engine",
    "import bevel.stack.stack",
    "import bevel.stack.build",
    "import bevel.api",
    "import bevel.client",
    "from bevel.client.client import Client",
)


@pytest.mark.parametrize("code", RUN_PATH)
def test_the_run_path_imports_no_store_implementation(code: str) -> None:
    heavy = sorted(set(HEAVY) & imported_after(code))
    assert not heavy, f"`{code}` imported {heavy}; a store's library loads when it is built"


def test_building_the_default_stack_imports_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    """The home store is chosen by its URL when the stack is built; on the default SQLite store
    that is the standard library's sqlite3, even when the database is created."""
    code = (
        "from bevel.stack.build import build_stack\n"
        "s = build_stack()\n"
        "s.metadata_store.list_runs()\n"
        "s.metadata_store.list_runs()\n"
        "s.close()"
    )
    env = _fresh_home(tmp_path)
    for _ in range(2):  # creating the database, then using it
        loaded = imported_after(code, env=env)
        assert not {"sqlalchemy", "alembic", "fsspec", "pandas", "numpy", "click", "rich"} & loaded


def _fresh_home(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel"), "DO_NOT_TRACK": "1"}
    env.pop("BEVEL_STORE_URL", None)
    return env


_PIPELINE = """
from bevel import pipeline, step

@step
def start() -> int:
    return 1

@step
def inc(x: int) -> int:
    return x + 1

@pipeline
def chain():
    inc(start())
"""

# Runs a CLI command in this process, then reports what it imported (click and rich included:
# the CLI needs them; the point is the store's libraries).
_CLI = (
    "import sys, json\n"
    "from bevel.cli.main import main\n"
    "sys.argv = ['bevel', *json.loads(sys.argv[1])]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exit:\n"
    "    assert not exit.code, exit.code\n"
)


def _cli_imports(args: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    probe = f"{_CLI}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)],
        capture_output=True, text=True, env=env, cwd=cwd,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_bevel_run_and_the_read_commands_import_neither_sqlalchemy_nor_alembic(
    tmp_path: Path,
) -> None:
    """A normal `bevel run` on the default stack (the first one of a new project included) and
    `bevel runs list/show`, `bevel logs`: SQLAlchemy and Alembic cost more than a small run."""
    (tmp_path / "flow.py").write_text(_PIPELINE)
    env = _fresh_home(tmp_path)
    commands = [
        ["run", "flow.py:chain", "--name", "first"],
        ["run", "flow.py:chain", "--name", "second"],
        ["runs", "list"],
        ["runs", "show", "first"],
        ["logs", "first", "inc"],
    ]
    for args in commands:
        loaded = _cli_imports(args, env, tmp_path)
        assert not {"sqlalchemy", "alembic"} & loaded, args


def test_listing_and_showing_runs_in_a_pipe_import_no_rich(tmp_path: Path) -> None:
    """`bevel runs list/show` piped (a script, grep, a file) print plain text themselves
    (bevel.cli.plain): rich, and the client's delete/gc/load/explain paths, cost more than the
    query and are not imported."""
    (tmp_path / "flow.py").write_text(_PIPELINE)
    env = _fresh_home(tmp_path)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        env.pop(name, None)
    _cli_imports(["run", "flow.py:chain", "--name", "first"], env, tmp_path)
    probe = f"{_CLI}\nprint(json.dumps(sorted(sys.modules)))"
    for args in (["runs", "list"], ["runs", "show", "first"], ["runs", "list", "-m", "acc"]):
        out = subprocess.run(
            [sys.executable, "-c", probe, json.dumps(args)],
            capture_output=True, text=True, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        loaded = set(json.loads(out.stdout.splitlines()[-1]))
        assert not {m for m in loaded if m.split(".")[0] == "rich"}, args
        unneeded = {
            "bevel.artifacts.publish",
            "bevel.client.cleanup",
            "bevel.cache.key",
            "bevel.models.control",
            "bevel.client.visualize",
        }
        assert not unneeded & loaded, (args, sorted(unneeded & loaded))


# What a run never needs on the default stack (each was imported by every run before): the
# Client's lists and the models' control plane load only when used, visualizations render only
# when shown, shipping code (subprocess, zipfile) and resuming are for remote workers and `bevel
# runs resume`; socket and pickle answered one small question each; the SQL store's stack
# definitions, model registry and gc queries serve other commands, the hashing thread's queue
# big artifacts, shlex the hint for a damaged database; a worker's claim of its task
# (redelivery) and shipped code are for out-of-process workers, current.model's binding and
# current.device for steps that ask, sysconfig for helpers outside site-packages; tempfile (and
# the shutil, bz2 and lzma it brings) only for saves to object stores, unicodedata for names that
# are not printable ASCII, html's table of named entities never (bevel escapes without it);
# yaml (~9 ms) only for a run config file, or a ``-p`` value that is not JSON.
NOT_IN_A_RUN = (
    "bevel.metadata.sql.definitions",
    "bevel.metadata.sql.models",
    "bevel.metadata.sql.gc",
    "queue",
    "shlex",
    "bevel.models.control",
    "bevel.models.mirror",
    "bevel.models.views",
    "bevel.models.binding",
    "bevel.models.device",
    "bevel.run.shipping",
    "bevel.run.redelivery",
    "sysconfig",
    "bevel.viz.html",
    "bevel.viz.png",
    "bevel.run.resume",
    "bevel.client.cleanup",
    "bevel.client.visualize",
    "rich",
    "socket",
    "subprocess",
    "zipfile",
    "pickle",
    "csv",
    "difflib",
    "tempfile",
    "bz2",
    "lzma",
    "unicodedata",
    "html",
    "yaml",
)
# What a run from Python (``python pipe.py``, a notebook) never needs on top of that: its
# settings are text paths (os.path), so neither pathlib nor the urllib.parse it imports comes
# with it (18M instructions, a tenth of ``import bevel.api``). Nor do the CLI's reads (click
# imports neither), nor ``bevel run`` (it finds the pipeline file with os.path).
NOT_IN_A_PYTHON_RUN = ("pathlib", "urllib.parse", "ipaddress")
# What reading runs never needs: no executor is made, no folder copied, no name hashed.
NOT_IN_A_READ = (
    *NOT_IN_A_RUN,
    "bevel.run.task",
    "bevel.orchestrators.inline",
    "bevel.api",
    "bevel.cache",
    "concurrent.futures",
    "logging",
    "shutil",
    "hashlib",
    "random",
    "traceback",
    "tempfile",
)


def _loaded(names: set[str], unwanted: tuple[str, ...]) -> list[str]:
    return sorted(u for u in unwanted if any(n == u or n.startswith(u + ".") for n in names))


def _all_modules(code: str, env: dict[str, str], cwd: Path, *args: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def _plain_env(tmp_path: Path) -> dict[str, str]:
    env = _fresh_home(tmp_path)
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        env.pop(name, None)
    return env


def test_a_local_run_imports_only_what_it_uses(tmp_path: Path) -> None:
    """A pipeline run from Python (``python pipe.py``) and ``bevel run`` in a pipe, on the
    default stack, the first run of the project and a second one."""
    (tmp_path / "flow.py").write_text(_PIPELINE + "\nif __name__ == '__main__':\n    chain()\n")
    env = _plain_env(tmp_path)
    script = "import runpy\nrunpy.run_path('flow.py', run_name='__main__')"
    unwanted = (*NOT_IN_A_RUN, *NOT_IN_A_PYTHON_RUN, "click")
    for _ in range(2):
        loaded = _all_modules(script, env, tmp_path)
        assert "bevel.run.engine" in loaded  # it ran
        assert not _loaded(loaded, unwanted), _loaded(loaded, unwanted)
    for name in ("first", "second"):
        loaded = _all_modules(
            _CLI, env, tmp_path, json.dumps(["run", "flow.py:chain", "--name", name])
        )
        assert "bevel.run.engine" in loaded
        unwanted = (*NOT_IN_A_RUN, *NOT_IN_A_PYTHON_RUN)
        assert not _loaded(loaded, unwanted), _loaded(loaded, unwanted)


_ARRAY_PIPELINE = """
import numpy as np
from bevel import pipeline, step

@step
def make() -> np.ndarray:
    return np.random.default_rng(0).random(2**21)  # 16 MiB: saved and hashed on threads

@step
def total(a: np.ndarray) -> float:
    return float(a.sum())

@pipeline
def arrays():
    total(make())

if __name__ == "__main__":
    arrays()
"""


def test_a_run_saving_a_big_array_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The array's visualization is drawn (bevel.viz.html) without the html module's entity
    table, and its save stages in the store's tmp/ folder, not through tempfile."""
    (tmp_path / "flow.py").write_text(_ARRAY_PIPELINE)
    env = _plain_env(tmp_path)
    script = "import runpy\nrunpy.run_path('flow.py', run_name='__main__')"
    loaded = _all_modules(script, env, tmp_path)
    assert "bevel.artifacts.materializers._array_viz" in loaded  # it drew the array
    used = ("bevel.viz", "queue", "pickle")  # it draws; hashing threads; numpy's own import
    unwanted = tuple(
        name for name in (*NOT_IN_A_RUN, *NOT_IN_A_PYTHON_RUN) if not name.startswith(used)
    )
    assert not _loaded(loaded, unwanted), _loaded(loaded, unwanted)


def test_reading_runs_imports_only_what_it_prints(tmp_path: Path) -> None:
    """``bevel runs list/show`` and ``bevel logs`` in a pipe, and a ``Client()`` listing: no
    run machinery, no executor, no rich, no pathlib (finding the project is ``os.path``: it
    cost ``bevel runs list`` ~3 ms of its ~60)."""
    (tmp_path / "flow.py").write_text(_PIPELINE)
    env = _plain_env(tmp_path)
    _cli_imports(["run", "flow.py:chain", "--name", "first"], env, tmp_path)
    for args in (["runs", "list"], ["runs", "show", "first"], ["logs", "first", "inc"]):
        loaded = _all_modules(_CLI, env, tmp_path, json.dumps(args))
        assert "bevel.metadata.sql.store" in loaded  # it read the store
        unwanted = (*NOT_IN_A_READ, *NOT_IN_A_PYTHON_RUN)
        assert not _loaded(loaded, unwanted), (args, _loaded(loaded, unwanted))
    listing = "from bevel import Client\nfor run in Client().runs():\n    run.status, run.duration"
    loaded = _all_modules(listing, env, tmp_path)
    unwanted = (*NOT_IN_A_READ, *NOT_IN_A_PYTHON_RUN, "click")
    assert not _loaded(loaded, unwanted), _loaded(loaded, unwanted)


def test_the_hostname_and_ids_bevel_makes_are_the_standard_librarys() -> None:
    """bevel._system answers without socket and uuid, with the same answers."""
    import socket
    import uuid

    from bevel._system import hostname, new_id

    assert hostname() == socket.gethostname()
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    for made in ids:
        assert len(made) == 32 and made == made.lower()
        parsed = uuid.UUID(made)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == made
