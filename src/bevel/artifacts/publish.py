"""Saving and loading artifacts: content hashing, deduplication and atomic publish, done once
above every :class:`~bevel.artifacts.base.ArtifactStore`.

Layout of a store (paths relative to its root)::

    data/<hex[:2]>/<hex>/...      one folder per distinct content (sha256 of its files)
    viz/<hex>/<name>.html|.md     visualizations of that content
    .tmp/<uuid>/                  folders being written (a crashed save may leave one behind)

Saving materializes into a temporary folder (inside the store when it is local, so publishing is
one rename), hashes it, and renames it to its content-addressed path. If that path exists the
bytes are already stored and the temporary copy is dropped; two processes saving the same content
at the same time therefore both succeed (the rename loser discards its copy).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

from bevel._text import with_article
from bevel.artifacts._paths import clean_relative
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.hashing import RERUN_HINT, hash_folder, hex_of, verify_folder
from bevel.artifacts.materializers.base import Materializer
from bevel.artifacts.materializers.registry import get_materializer, import_ref
from bevel.artifacts.remote_cache import fetch
from bevel.errors import ArtifactError, ArtifactMissing, BevelError, BevelWarning

DATA_DIR = "data"
VIZ_DIR = "viz"
TMP_DIR = ".tmp"


@dataclass(frozen=True)
class SavedArtifact:
    """What :func:`save_artifact` stored; the caller records it as an ArtifactRecord."""

    uri: str
    path: str  # relative to the store root
    content_hash: str  # "sha256:<hex>" over the folder's files (see bevel.artifacts.hashing)
    size: int
    metadata: dict[str, Any]
    visualizations: dict[str, str]  # name -> uri of the stored html/md text
    python_version: str | None  # set when pickled


def data_path(content_hash: str) -> str:
    """The content-addressed folder of ``content_hash``, relative to the store root."""
    hex_digest = hex_of(content_hash)
    return f"{DATA_DIR}/{hex_digest[:2]}/{hex_digest}"


def save_artifact(
    store: ArtifactStore, obj: Any, materializer: str, *, name: str = ""
) -> SavedArtifact:
    """Materialize ``obj`` with ``materializer`` (a ``"module:Class"`` ref) and publish it.

    ``name`` (optional) only makes error messages name the artifact.
    """
    mat = get_materializer(materializer)
    what = f"artifact {name!r}" if name else with_article(type(obj).__qualname__)
    if store.local_path("") is not None:
        tmp = f"{TMP_DIR}/{_token()}"
        store.makedirs(tmp)
        work = store.local_path(tmp)
        assert work is not None
        try:
            _materialize(mat, materializer, obj, work, what)
            content_hash, size = hash_folder(work)
            path = data_path(content_hash)
            _publish(store, tmp, path)
        except BaseException:
            _discard(store, tmp)
            raise
    else:
        with tempfile.TemporaryDirectory(prefix="bevel-save-") as work:
            _materialize(mat, materializer, obj, work, what)
            content_hash, size = hash_folder(work)
            path = data_path(content_hash)
            _upload(store, work, path)
    return SavedArtifact(
        uri=store.uri(path),
        path=path,
        content_hash=content_hash,
        size=size,
        metadata=_metadata(mat, materializer, obj),
        visualizations=_save_visualizations(store, mat, materializer, obj, content_hash),
        python_version=_python_version() if getattr(mat, "pickled", False) else None,
    )


def _materialize(mat: Materializer, ref: str, obj: Any, directory: str, what: str) -> None:
    try:
        mat.save(obj, directory)
    except BevelError:
        raise
    except Exception as exc:
        raise ArtifactError(
            f"cannot save {what} with materializer {ref}: {type(exc).__name__}: {exc}",
            hint="check the value the step returned, register another materializer for its type "
            "(bevel.register_materializer), or opt into pickle with `@step(pickle=True)`",
        ) from exc


def complete_marker(path: str) -> str:
    """The object written after all of an uploaded folder's files (beside it, not inside, so it
    is not part of the content)."""
    return f"{path}.complete"


def _upload(store: ArtifactStore, work: str, path: str) -> None:
    """Publish a local folder to a remote (object) store, straight to its final place.

    Object stores make each object appear whole, and a rename there is a copy: so instead of
    temp + rename, the files go to ``path`` and a completion marker is written last. A folder
    without its marker (a crash mid-upload) counts as absent and is uploaded again; two
    processes uploading the same content write the same bytes.
    """
    marker = complete_marker(path)
    if store.exists(marker):
        return  # identical bytes are stored already
    store.put(work, path, recursive=True)
    with store.open(marker, "wb") as fh:
        fh.write(b"complete\n")


def _publish(store: ArtifactStore, tmp: str, path: str) -> None:
    """Rename ``tmp`` to ``path``, or drop it when ``path`` already holds the same bytes."""
    if store.exists(path):
        _discard(store, tmp)
        return
    store.makedirs(path.rpartition("/")[0])
    try:
        store.rename(tmp, path)
    except OSError:
        if not store.exists(path):
            raise
        _discard(store, tmp)  # another process published the same content first


def _discard(store: ArtifactStore, tmp: str) -> None:
    with contextlib.suppress(OSError):  # already gone (or never written): nothing to clean
        store.rm(tmp, recursive=True)


def _token() -> str:
    """A unique name for a temporary file or folder (uuid4's randomness without importing uuid)."""
    return os.urandom(16).hex()


def _python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _metadata(mat: Materializer, ref: str, obj: Any) -> dict[str, Any]:
    """The materializer's facts, made JSON-safe; a failure warns instead of losing the run."""
    try:
        facts = mat.metadata(obj)
        if not isinstance(facts, dict):
            raise TypeError(f"it returned a {type(facts).__name__}, not a dict")
        result: dict[str, Any] = json.loads(json.dumps(facts, default=str))
        return result
    except Exception as exc:
        warnings.warn(
            f"{ref}.metadata() failed, so the artifact has no metadata from it: {exc!r}",
            BevelWarning,
            stacklevel=3,
        )
        return {}


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _save_visualizations(
    store: ArtifactStore, mat: Materializer, ref: str, obj: Any, content_hash: str
) -> dict[str, str]:
    """Store each visualization once per content under ``viz/<hex>/``; return name -> uri."""
    try:
        texts = mat.visualizations(obj)
        if not isinstance(texts, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
        ):
            raise TypeError(f"it returned {texts!r:.80}, not a dict of name -> HTML/Markdown text")
    except Exception as exc:
        warnings.warn(
            f"{ref}.visualizations() failed, so the artifact has no visualizations: {exc!r}",
            BevelWarning,
            stacklevel=3,
        )
        return {}
    uris: dict[str, str] = {}
    for viz_name, text in texts.items():
        ext = ".html" if text.lstrip().startswith("<") else ".md"
        path = f"{VIZ_DIR}/{hex_of(content_hash)}/{_UNSAFE.sub('_', viz_name) or 'viz'}{ext}"
        if not store.exists(path):
            _write_text(store, path, text)
        uris[viz_name] = store.uri(path)
    return uris


def _write_text(store: ArtifactStore, path: str, text: str) -> None:
    data = text.encode("utf-8")
    if store.local_path("") is None:  # an object store PUT is atomic already
        with store.open(path, "wb") as f:
            f.write(data)
        return
    tmp = f"{path}.{_token()}.tmp"
    with store.open(tmp, "wb") as f:
        f.write(data)
    store.rename(tmp, path)


def artifact_path(store: ArtifactStore, uri: str) -> str:
    """The path of ``uri`` relative to the store root (a relative path is returned as is)."""
    roots = [store.uri("")]
    local_root = store.local_path("")
    if local_root is not None:
        roots += [local_root, "file://" + local_root]
    for root in roots:
        root = root.rstrip("/").rstrip(os.sep)
        if uri == root:
            return ""
        for sep in {"/", os.sep}:
            if uri.startswith(root + sep):
                return clean_relative(uri[len(root) + 1 :])
    if "://" not in uri and not os.path.isabs(uri):
        return clean_relative(uri)
    raise ArtifactError(
        f"artifact {uri} is not in this artifact store ({store.uri('')})",
        hint="use the stack whose artifact store holds it (the one the run was recorded with)",
    )


def delete_artifact_files(store: ArtifactStore, uri: str) -> None:
    """Delete an artifact's folder and its visualizations.

    Identical content is stored once, so the caller must first check that no other artifact
    record points at the same ``uri``.
    """
    path = artifact_path(store, uri)
    viz = f"{VIZ_DIR}/{path.rpartition('/')[2]}"
    for target in (complete_marker(path), path, viz):
        if target and store.exists(target):
            store.rm(target, recursive=True)


class Recorded(Protocol):
    """What loading needs from an artifact's record (an ArtifactRecord or an ArtifactView)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def uri(self) -> str: ...

    @property
    def materializer(self) -> str: ...

    @property
    def type_ref(self) -> str: ...

    @property
    def content_hash(self) -> str: ...


def load_recorded(store: ArtifactStore, artifact: Recorded, *, verify: bool = True) -> Any:
    """Load a recorded artifact (errors name it as ``name vN``)."""
    return load_artifact(
        store,
        uri=artifact.uri,
        materializer=artifact.materializer,
        type_ref=artifact.type_ref,
        content_hash=artifact.content_hash,
        name=f"{artifact.name} v{artifact.version}",
        verify=verify,
    )


def load_artifact(
    store: ArtifactStore,
    *,
    uri: str,
    materializer: str,
    type_ref: str,
    content_hash: str,
    name: str,
    verify: bool = True,
    cache_dir: str | None = None,
) -> Any:
    """Load an artifact back into a Python object.

    With ``verify`` the files are re-hashed first (the only cost of verifying; pass
    ``verify=False`` to skip it). A remote store's files are downloaded once into ``cache_dir``
    (default ``$BEVEL_CACHE_DIR`` or ``~/.cache/bevel/artifacts``), keyed by content hash.
    """
    path = artifact_path(store, uri)
    if not path or not store.exists(path):
        raise ArtifactMissing(
            f"artifact {name!r} is missing from the artifact store: nothing at {uri}",
            hint=f"its files were deleted or moved; {RERUN_HINT}",
        )
    folder = store.local_path(path)
    if folder is None:
        folder = fetch(
            store,
            path,
            uri=uri,
            content_hash=content_hash,
            name=name,
            verify=verify,
            cache_dir=cache_dir,
        )
    elif verify:
        verify_folder(folder, uri=uri, content_hash=content_hash, name=name)
    mat = get_materializer(materializer)
    type_ = _import_type(type_ref)
    try:
        return mat.load(folder, type_)
    except ArtifactError as exc:
        raise type(exc)(
            f"cannot load artifact {name!r} from {uri}: {exc.message}", hint=exc.hint
        ) from exc
    except Exception as exc:
        raise ArtifactError(
            f"cannot load artifact {name!r} from {uri} with {materializer}: "
            f"{type(exc).__name__}: {exc}",
            hint="install the library versions the artifact was saved with, or " + RERUN_HINT,
        ) from exc


def _import_type(ref: str) -> type | None:
    if not ref:
        return None
    try:
        found = import_ref(ref)
    except BevelError:  # importing the script that defines it was refused: say why
        raise
    except Exception:  # a type that is not importable here: materializers that need it say so
        return None
    return found if isinstance(found, type) else None
