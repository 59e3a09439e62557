"""Publishing to an object store: straight to the content-addressed place, marker written last."""

from __future__ import annotations

import uuid

from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.materializers.registry import JSON_MATERIALIZER
from bevel.artifacts.publish import (
    artifact_path,
    complete_marker,
    delete_artifact_files,
    load_artifact,
    save_artifact,
)


def test_upload_writes_the_marker_and_reuploads_a_half_written_folder() -> None:
    store = FsspecArtifactStore(f"memory://bevel-{uuid.uuid4().hex}/artifacts")
    saved = save_artifact(store, {"a": 1}, JSON_MATERIALIZER, name="x")
    assert store.exists(complete_marker(saved.path))
    assert not store.exists(".tmp") or store.ls(".tmp") == []  # no temp objects to rename
    # a crash mid-upload: files partly there, no marker
    store.rm(complete_marker(saved.path))
    for entry in store.ls(saved.path):
        store.rm(entry, recursive=True)
    again = save_artifact(store, {"a": 1}, JSON_MATERIALIZER, name="x")
    assert again.uri == saved.uri and store.exists(complete_marker(again.path))
    loaded = load_artifact(
        store,
        uri=again.uri,
        materializer=JSON_MATERIALIZER,
        type_ref="builtins:dict",
        content_hash=again.content_hash,
        name="x",
    )
    assert loaded == {"a": 1}
    delete_artifact_files(store, again.uri)
    path = artifact_path(store, again.uri)
    assert not store.exists(path) and not store.exists(complete_marker(path))
