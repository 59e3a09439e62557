"""Steps of one run that run at once on a local store share the run's log folder, and a step
that printed nothing removes it when it is empty (``StepLog._discard``). A step starting at
that instant must still get its log: before this was handled, the run crashed with
FileExistsError or FileNotFoundError (seen with parallel workers: `test_map`'s process case)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bevel.artifacts.local import LocalArtifactStore
from bevel.run.logs import StepLog


class _Racing(LocalArtifactStore):
    """A store where another step's discard removes the run's empty log folder right after
    this step made it (once), as happens between two processes."""

    def __init__(self, root: str, how: str) -> None:
        super().__init__(root)
        self.how = how
        self.raced = False

    def makedirs(self, path: str) -> None:
        if self.raced:
            return super().makedirs(path)
        self.raced = True
        if self.how == "gone before open":
            super().makedirs(path)
            os.rmdir(self._full(path))  # the other step's _discard, just after our makedirs
        else:  # makedirs saw the folder (EEXIST), then found it gone: what os.makedirs raises
            raise FileExistsError(17, "File exists", self._full(path))


@pytest.mark.parametrize("how", ["gone before open", "gone inside makedirs"])
def test_a_step_log_is_opened_while_another_step_removes_the_folder(
    tmp_path: Path, how: str
) -> None:
    store: Any = _Racing(str(tmp_path / "artifacts"), how)
    log = StepLog(store, "logs/run-1/train-1234abcd.log")
    log.write("hello\n")
    assert log.publish() == log.uri
    log.close()
    assert Path(log.uri).read_text() == "hello\n"


def test_an_empty_log_leaves_no_folder_and_the_next_step_makes_it_again(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "artifacts"))
    quiet = StepLog(store, "logs/run-1/a-00000000.log")
    assert quiet.publish() is None
    quiet.close()
    assert not (tmp_path / "artifacts" / "logs" / "run-1").exists()
    loud = StepLog(store, "logs/run-1/b-00000000.log")
    loud.write("x")
    assert loud.publish() == loud.uri
    loud.close()
    assert Path(loud.uri).read_text() == "x"


class _Counting(LocalArtifactStore):
    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.made: list[str] = []

    def makedirs(self, path: str) -> None:
        self.made.append(path)
        super().makedirs(path)


def test_a_step_that_prints_nothing_touches_no_file(tmp_path: Path) -> None:
    """Most steps print nothing: their log costs no file operation at all (before, a file and
    the run's folder were made and removed again for each of them)."""
    store = _Counting(str(tmp_path / "artifacts"))
    log = StepLog(store, "logs/run-1/quiet-00000000.log")
    assert log.live  # a reader of a running step finds no file yet: an empty log
    assert log.publish() is None
    log.close()
    assert store.made == []
    assert not (tmp_path / "artifacts").exists()


def test_a_log_published_for_a_hook_exists_even_when_empty(tmp_path: Path) -> None:
    """The uri is recorded when the step ends and a hook is due: it points at a file, which
    the hook's output then goes to."""
    store = LocalArtifactStore(str(tmp_path / "artifacts"))
    log = StepLog(store, "logs/run-1/hooked-00000000.log")
    uri = log.publish(keep=True)
    assert uri is not None and Path(uri).read_text() == ""
    log.write("from the hook\n")
    log.close()
    assert Path(uri).read_text() == "from the hook\n"
