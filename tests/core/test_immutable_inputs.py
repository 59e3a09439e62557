"""Loaded artifacts are immutable from the user's side.

A step that gets a ``Path`` input used to get a path inside ``.bevel/artifacts/data/...`` (or,
handed over in memory, the producer's own working folder), so writing into it corrupted the
store and every later run that loaded it. Now such a step gets a private copy: on the local
store and on an fsspec store (``memory://``, whose download cache is not handed out either).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bevel import pipeline, step
from bevel.api import run_pipeline
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.hashing import hash_folder
from bevel.artifacts.publish import is_intact
from bevel.client.views import RunView
from bevel.stack.stack import Stack, default_stack

SEEN: dict[str, str] = {}


@step
def produce(workdir: str) -> Path:
    folder = Path(workdir) / "model"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.txt").write_text("w=1")
    return folder


@step(enable_cache=False)
def vandal(model: Path) -> str:
    SEEN["vandal"] = str(model)
    (model / "weights.txt").write_text("w=666")  # writes into its input, in place
    (model / "extra.txt").write_text("not part of the artifact")
    return (model / "weights.txt").read_text()


@step(enable_cache=False)
def reader(model: Path, after_vandal: str) -> str:
    SEEN["reader"] = str(model)
    return (model / "weights.txt").read_text() + f" ({len(list(model.iterdir()))} file)"


@pipeline
def vandalised(workdir: str) -> None:
    model = produce(workdir)
    reader(model, vandal(model))


@pytest.fixture(params=["local", "memory"])
def stack(
    request: pytest.FixtureRequest,
    bevel_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Stack]:
    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "download-cache"))
    built = default_stack()
    if request.param == "memory":
        store = FsspecArtifactStore(f"memory://bevel-{uuid.uuid4().hex}/artifacts")
        built = dataclasses.replace(built, artifact_store=store)
    yield built
    built.close()


def check_untouched(run: RunView, stack: Stack, workdir: Path) -> None:
    artifact = run.steps["produce"].output
    assert is_intact(stack.artifact_store, artifact.uri, artifact.content_hash)
    assert (workdir / "model" / "weights.txt").read_text() == "w=1"  # the producer's folder
    assert not (workdir / "model" / "extra.txt").exists()
    loaded = artifact.load()
    assert (loaded / "weights.txt").read_text() == "w=1"
    assert hash_folder(str(loaded.parent))[0] == artifact.content_hash


def test_a_step_writing_into_its_path_input_changes_only_its_copy(
    stack: Stack, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    run = run_pipeline(vandalised, params={"workdir": str(workdir)}, stack=stack)
    assert run.steps["vandal"].output.load() == "w=666"  # it did write, into its own copy
    assert run.steps["reader"].output.load() == "w=1 (1 file)"
    check_untouched(run, stack, workdir)
    store_root = stack.artifact_store.local_path("")
    for path in (SEEN["vandal"], SEEN["reader"]):
        assert not path.startswith(str(workdir))  # not the producer's folder (hand-off)
        assert store_root is None or not path.startswith(store_root)  # nor the store
        assert not path.startswith(str(tmp_path / "download-cache"))  # nor the download cache
        assert not Path(path).exists()  # private copies go when the step ends
    again = run_pipeline(vandalised, params={"workdir": str(workdir)}, stack=stack)
    assert again.steps["produce"].status == "cached"  # the stored artifact is still good
    assert again.steps["reader"].output.load() == "w=1 (1 file)"
    check_untouched(again, stack, workdir)


def test_a_path_loaded_through_the_client_is_a_private_copy(stack: Stack, tmp_path: Path) -> None:
    run = run_pipeline(vandalised, params={"workdir": str(tmp_path / "work")}, stack=stack)
    artifact = run.steps["produce"].output
    first = artifact.load()
    (first / "weights.txt").write_text("changed in a notebook")
    assert (artifact.load() / "weights.txt").read_text() == "w=1"
    assert is_intact(stack.artifact_store, artifact.uri, artifact.content_hash)
