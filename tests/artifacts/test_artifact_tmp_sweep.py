"""What killed saves leave under ``.tmp/`` is cleaned by later saves (and by ``bevel gc``).

A save materializes into ``.tmp/<pid>-<host>-<random>/`` inside a local store; a process killed
mid-save leaves that folder behind (35 MB after 100 killed runs, before this was fixed). The
first save of each later process removes such folders: at once when their process is gone from
this host, after the grace period otherwise; a live process's save is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bevel.artifacts import gc
from bevel.artifacts.content import host_tag
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import JSON_MATERIALIZER
from bevel.artifacts.publish import save_artifact

SLOW_SAVE = textwrap.dedent(
    """
    import sys, time
    from bevel.artifacts.local import LocalArtifactStore
    from bevel.artifacts.materializers import registry
    from bevel.artifacts.publish import save_artifact

    class Slow:
        version = "1"
        def save(self, obj, directory):
            with open(directory + "/part.bin", "wb") as f:
                f.write(b"x" * 1_000_000)
                f.flush()
                print("writing", flush=True)
                time.sleep(60)
        def load(self, directory, type_): ...
        def metadata(self, obj): return {}
        def visualizations(self, obj): return {}

    registry._instances["slow:Slow"] = Slow()
    save_artifact(LocalArtifactStore(sys.argv[1]), 1, "slow:Slow")
    """
)


def killed_save(root: Path) -> Path:
    """Start a save in another process, SIGKILL it mid-way, return what it left in .tmp/."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVE, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    (left,) = (root / ".tmp").iterdir()
    assert (left / "part.bin").stat().st_size == 1_000_000
    return left


def fresh_process_save(root: Path) -> None:
    code = (
        "import sys; from bevel.artifacts.local import LocalArtifactStore; "
        "from bevel.artifacts.publish import save_artifact; "
        "from bevel.artifacts.materializers.registry import JSON_MATERIALIZER; "
        "save_artifact(LocalArtifactStore(sys.argv[1]), [1, 2], JSON_MATERIALIZER)"
    )
    subprocess.run([sys.executable, "-c", code, str(root)], check=True, timeout=60)


def test_a_later_save_removes_what_a_killed_save_left(tmp_path: Path) -> None:
    left = killed_save(tmp_path)
    assert left.name.startswith(f"{left.name.split('-')[0]}-{host_tag()}-")
    fresh_process_save(tmp_path)  # the killer's pid is gone: no need to wait for the grace
    assert list((tmp_path / ".tmp").iterdir()) == []


def _entry(root: Path, name: str, age: float) -> Path:
    folder = root / ".tmp" / name
    folder.mkdir(parents=True)
    (folder / "f.bin").write_bytes(b"12345")
    when = time.time() - age
    os.utime(folder / "f.bin", (when, when))
    os.utime(folder, (when, when))
    return folder


def test_the_grace_period_and_live_owners(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    entries = {
        "dead-owner": _entry(tmp_path, f"{dead}-{host_tag()}-aa", age=5),
        "live-owner-old": _entry(tmp_path, f"{os.getpid()}-{host_tag()}-bb", age=10 * 3600),
        "other-host-recent": _entry(tmp_path, f"{dead}-ffffffff-cc", age=5),
        "other-host-old": _entry(tmp_path, f"{dead}-ffffffff-dd", age=2 * 3600),
        "old-style-recent": _entry(tmp_path, "0123456789abcdef0123456789abcdef", age=5),
        "old-style-old": _entry(tmp_path, "fedcba9876543210fedcba9876543210", age=2 * 3600),
    }
    dry = gc.sweep_tmp(store, dry_run=True)
    assert all(path.exists() for path in entries.values())  # a dry run removes nothing
    swept = gc.sweep_tmp(store)
    assert sorted(g.path for g in swept.removed) == sorted(g.path for g in dry.removed)
    gone = {label for label, path in entries.items() if not path.exists()}
    assert gone == {"dead-owner", "other-host-old", "old-style-old"}
    assert all(g.size == 5 and g.reason == "interrupted save" for g in swept.removed)
    assert swept.freed == 15
    short = gc.sweep_tmp(store, grace=0)
    assert {Path(g.path).name for g in short.removed} == {
        entries["other-host-recent"].name,
        entries["old-style-recent"].name,
    }
    assert entries["live-owner-old"].exists()  # a live save is never touched


def test_only_the_first_save_of_a_process_sweeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    monkeypatch.setattr(gc, "_swept", set())
    old = _entry(tmp_path, "fedcba9876543210fedcba9876543210", age=2 * 3600)
    save_artifact(store, [1], JSON_MATERIALIZER)
    assert not old.exists()
    again = _entry(tmp_path, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", age=2 * 3600)
    save_artifact(store, [2], JSON_MATERIALIZER)
    assert again.exists()  # later saves in the same process do not list .tmp/ again
