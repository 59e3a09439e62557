"""Code shipping: what is packaged, that the archive names its content, the size limit (and its
hint, followed), and workers importing a new version without a restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bevel import Client
from bevel.api import load_pipeline, run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import ConfigError
from bevel.orchestrators.local_parallel import LocalParallelOrchestrator
from bevel.run import shipping


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


FILES = {
    "pipe.py": "x = 1\n",
    "lib/util.py": "y = 2\n",
    "data/big.csv": "a,b\n",
    "notes.log": "log\n",
    "keep.log": "kept\n",
    ".bevel/metadata.db": "db",
    "lib/__pycache__/util.cpython-311.pyc": "pyc",
    ".gitignore": "data/\n*.log\n!keep.log\n",
}


def test_outside_git_the_gitignore_files_decide(tmp_path: Path) -> None:
    _tree(tmp_path, FILES)
    assert shipping.project_files(tmp_path) == [".gitignore", "keep.log", "lib/util.py", "pipe.py"]


def test_in_git_what_git_ls_files_lists(tmp_path: Path) -> None:
    _tree(tmp_path, FILES)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "pipe.py", ".gitignore"], cwd=tmp_path, check=True)
    (tmp_path / "lib" / "nested.gitignore").write_text("")  # untracked, not ignored: shipped
    assert shipping.project_files(tmp_path) == [
        ".gitignore", "keep.log", "lib/nested.gitignore", "lib/util.py", "pipe.py"
    ]  # fmt: skip


def test_the_archive_is_named_by_its_content(tmp_path: Path) -> None:
    _tree(tmp_path, {"pipe.py": "x = 1\n"})
    first = shipping.build_archive(tmp_path)[1]
    (tmp_path / "pipe.py").touch()  # a new mtime, the same bytes
    assert shipping.build_archive(tmp_path)[1] == first
    (tmp_path / "pipe.py").write_text("x = 2\n")
    assert shipping.build_archive(tmp_path)[1] != first


def test_past_the_size_limit_a_clear_error_whose_hint_works(tmp_path: Path) -> None:
    _tree(tmp_path, {"pipe.py": "x = 1\n"})
    (tmp_path / "dump.bin").write_bytes(b"\0" * 3 * 2**20)
    with pytest.raises(ConfigError) as caught:
        shipping.build_archive(tmp_path, limit=2**20)
    text = str(caught.value)
    assert "3.0 MiB of files to ship to workers, more than the limit of 1 MiB" in text
    assert "largest: dump.bin (3.0 MiB)" in text
    assert "list it in .gitignore" in text
    (tmp_path / ".gitignore").write_text("dump.bin\n")  # what the hint says
    assert shipping.build_archive(tmp_path, limit=2**20)[1].startswith("sha256:")


def test_a_worker_switches_to_a_new_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "cache" / "artifacts"))
    store = LocalArtifactStore(str(tmp_path / "store"))
    project = tmp_path / "proj"
    _tree(project, {"shipmod_v.py": "VALUE = 1\n"})
    one = shipping.ship(store, project)
    assert shipping.ship(store, project) == one  # uploaded once
    (project / "shipmod_v.py").write_text("VALUE = 2\n")
    two = shipping.ship(store, project)
    try:
        shipping.activate(shipping.fetch(store, one))
        import shipmod_v  # type: ignore[import-not-found]

        assert shipmod_v.VALUE == 1
        shipping.activate(shipping.fetch(store, two))
        import shipmod_v as again  # type: ignore[import-not-found]

        assert again.VALUE == 2
    finally:
        sys.modules.pop("shipmod_v", None)


class ShippingParallel(LocalParallelOrchestrator):
    """local_parallel whose workers import the shipped archive (as Dask workers do)."""

    ships_code = True
    code_size_limit = 2**20


def test_worker_processes_run_the_shipped_code_and_the_run_records_its_hash(
    on: Any, bevel_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "cache" / "artifacts"))
    (tmp_path / "shipped_pipe.py").write_text(
        "from bevel import pipeline, step\n"
        "import shipped_helper\n"
        "@step\n"
        "def where() -> str:\n"
        "    return shipped_helper.__file__\n"
        "@pipeline\n"
        "def shipped():\n"
        "    where()\n"
    )
    (tmp_path / "shipped_helper.py").write_text("")
    run = run_pipeline(
        load_pipeline("shipped_pipe.py:shipped"), stack=on(ShippingParallel(processes=1))
    )
    digest = run.metadata["code.archive"]
    assert (
        run.steps["where"]
        .output.load()
        .endswith(f"code/{digest.partition(':')[2]}/shipped_helper.py")
    )


def test_a_project_too_big_to_ship_is_refused_before_the_run(
    on: Any, bevel_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "shipped_pipe.py").write_text(
        "from bevel import pipeline, step\n@step\ndef s() -> int:\n    return 1\n"
        "@pipeline\ndef shipped():\n    s()\n"
    )
    (tmp_path / "blob.bin").write_bytes(b"\0" * 2 * 2**20)
    with pytest.raises(ConfigError, match="more than the limit of 1 MiB"):
        run_pipeline(
            load_pipeline("shipped_pipe.py:shipped"), stack=on(ShippingParallel(processes=1))
        )
    assert Client().runs() == []
