"""Saving and loading artifacts: content hashing, deduplication and atomic publish, done once
above every :class:`~bevel.artifacts.base.ArtifactStore`.

Layout of a store (paths relative to its root)::

    data/<hex[:2]>/<hex>/...         one folder per distinct content (BLAKE3 of its files)
    data/<hex[:2]>/<hex>.complete    its completion marker: manifest + last use (see marker.py)
    viz/<hex>/<name>.<ext>           visualizations of that content (.html .md .png .svg .json...)
    .tmp/<pid>-<host>-<random>/      folders and files being written

Saving materializes into a temporary folder (inside the store when it is local, so publishing is
one rename), hashes it (while writing, for materializers that can: see ``hashing.write_hashed``), and publishes it at its content-addressed path, marker last. A materializer
that can give its files in memory (``encode``: JSON builtins, text, bytes) has them hashed
before anything is written, so stored content is found without writing a file and new content
is written once, straight into the folder that is renamed into place
(:func:`bevel.artifacts.content.publish_files`). When that
path holds something already it is *checked*, never just trusted: its marker's manifest is
compared with a fresh listing (sizes and change stamps, no data read; a folder without a marker
is re-hashed). Identical bytes are then not stored twice (the marker is refreshed, which tells
garbage collection the content is in use); anything else (a file rewritten, truncated, added or
removed) is replaced: on a local disk the bad folder is moved aside and the new one renamed in
(a reader sees the old folder, nothing for an instant, or the new one, never a mix); on an
object store the marker goes first, so no one trusts the folder while it is uploaded again.
Two processes saving the same content at once both succeed (the rename loser drops its copy).
Stored files are made read-only on local stores.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel._text import with_article
from bevel.artifacts import content
from bevel.artifacts._paths import artifact_path
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.content import DATA_DIR, TMP_DIR, VIZ_DIR, data_path, discard, tmp_name
from bevel.artifacts.gc import sweep_tmp_once
from bevel.artifacts.handoff import TAKEN, Owned
from bevel.artifacts.hashing import (
    ALGORITHM,
    PREFIX,
    RERUN_HINT,
    THREAD_MIN,
    HashedReadError,
    PendingHash,
    algorithm_of,
    check_hash,
    hash_bytes,
    hex_of,
    verify_folder,
)
from bevel.artifacts.marker import marker_path
from bevel.artifacts.materializers.base import Materializer
from bevel.artifacts.materializers.registry import get_materializer, import_ref
from bevel.artifacts.remote_cache import fetch, private_copy
from bevel.errors import (
    ArtifactCorrupted,
    ArtifactError,
    ArtifactMissing,
    BevelError,
    BevelWarning,
)
from bevel.viz.kinds import Visualization

if TYPE_CHECKING:
    import tempfile
else:  # saving to an object store only: a local save stages in the store's own .tmp/ folder
    tempfile = lazy_module("tempfile")

__all__ = [
    "DATA_DIR",
    "TMP_DIR",
    "VIZ_DIR",
    "SavedArtifact",
    "artifact_path",
    "complete_marker",
    "data_path",
    "delete_artifact_files",
    "ensure_stored",
    "is_intact",
    "load_artifact",
    "load_recorded",
    "save_artifact",
]

complete_marker = marker_path  # the name earlier versions exported


@dataclass(frozen=True)
class SavedArtifact:
    """What :func:`save_artifact` stored; the caller records it as an ArtifactRecord."""

    uri: str
    path: str  # relative to the store root
    content_hash: str  # "blake3:<hex>" over the folder's files (see bevel.artifacts.hashing)
    size: int
    metadata: dict[str, Any]
    visualizations: dict[str, str]  # name -> uri of the stored html/md text
    python_version: str | None  # set when pickled


def save_artifact(
    store: ArtifactStore, obj: Any, materializer: str, *, name: str = "", visualize: bool = True
) -> SavedArtifact:
    """Materialize ``obj`` with ``materializer`` (a ``"module:Class"`` ref) and publish it.

    ``name`` (optional) only makes error messages name the artifact. ``visualize=False`` skips
    the materializer's ``visualizations()`` (a step's or run's ``visualize`` option).
    """
    mat = get_materializer(materializer)
    what = f"artifact {name!r}" if name else with_article(type(obj).__qualname__)
    files = _encoded(mat, materializer, obj, what) if store.local_path("") is not None else None
    if files is not None:  # small: hashed in memory, written once, straight to its place
        sweep_tmp_once(store)  # leftovers of killed saves (once per process and store)
        content_hash, size = hash_bytes(files)
        path = data_path(content_hash)
        content.publish_files(store, path, content_hash, files)
        facts, views = _describe(mat, materializer, obj, visualize)
    elif store.local_path("") is not None:
        sweep_tmp_once(store)
        tmp = tmp_name()
        store.makedirs(tmp)
        work = store.local_path(tmp)
        assert work is not None
        beside = None
        try:
            beside = _Beside.start(mat, obj, visualize)  # a big array: described while written
            _materialize(mat, materializer, obj, work, what)
            pending = PendingHash(work)  # a big folder: hashed while the object is described
            facts, views = _describe(mat, materializer, obj, visualize, pending, beside)
            content_hash, size = pending.result()
            path = data_path(content_hash)
            content.publish_local(store, tmp, path, content_hash)
        except BaseException:
            if beside is not None:
                beside.wait()  # no thread outlives the save
            discard(store, tmp)
            raise
    else:
        with tempfile.TemporaryDirectory(prefix="bevel-save-") as work:
            beside = _Beside.start(mat, obj, visualize)
            try:
                _materialize(mat, materializer, obj, work, what)
                pending = PendingHash(work)  # a big folder: hashed while it is described
                facts, views = _describe(mat, materializer, obj, visualize, pending, beside)
            finally:
                if beside is not None:
                    beside.wait()
            content_hash, size = pending.result()
            path = data_path(content_hash)
            content.publish_remote(store, work, path, content_hash)
    return SavedArtifact(
        uri=store.uri(path),
        path=path,
        content_hash=content_hash,
        size=size,
        metadata=facts,
        visualizations=_store_visualizations(store, views, content_hash),
        python_version=_python_version() if getattr(mat, "pickled", False) else None,
    )


def ensure_stored(
    store: ArtifactStore, uri: str, obj: Any, materializer: str, *, name: str
) -> None:
    """After an artifact was recorded: save ``obj`` again if its content is gone meanwhile.

    A sweep (``bevel gc``, ``bevel runs delete``) that checked the content between this save and
    its record, an instant before the save refreshed its marker, may have removed it; saving
    the same object again puts the same bytes back at the same place. A marker stat on local
    stores, one request on object stores.
    """
    path = artifact_path(store, uri)
    if store.exists(marker_path(path)) and (store.local_path("") is None or store.exists(path)):
        return
    again = save_artifact(store, obj, materializer, name=name)
    if again.uri != uri:  # a materializer whose output is not deterministic
        warnings.warn(
            f"artifact {name!r} was removed by a concurrent clean-up and could not be stored "
            f"again at {uri} (its materializer wrote other bytes); re-run the step",
            BevelWarning,
            stacklevel=2,
        )


def is_intact(store: ArtifactStore, uri: str, content_hash: str | None = None) -> bool:
    """Whether the artifact at ``uri`` is there, complete and unmodified as far as a cheap check
    can tell (a listing compared with its marker's manifest; no data is read, except that a
    local folder without a marker is re-hashed once). False for a uri of another store."""
    try:
        path = artifact_path(store, uri)
    except ArtifactError:
        return False
    if not path.startswith(DATA_DIR + "/"):
        return bool(path) and store.exists(path)
    digest = content_hash or PREFIX + path.rpartition("/")[2]
    return content.is_intact(store, path, digest)


def _materialize(mat: Materializer, ref: str, obj: Any, directory: str, what: str) -> None:
    with _saving(ref, what):
        mat.save(obj, directory)


def _encoded(mat: Materializer, ref: str, obj: Any, what: str) -> Mapping[str, bytes] | None:
    """The files ``mat`` would save for ``obj``, in memory, when it can say (an optional
    ``encode(obj)`` giving relative name -> bytes, or None for an object too big for that):
    such content is hashed before anything is written, and not written at all when the store
    has it already."""
    encode = getattr(mat, "encode", None)
    if encode is None:
        return None
    with _saving(ref, what):
        files: Mapping[str, bytes] | None = encode(obj)
    return files


@contextlib.contextmanager
def _saving(ref: str, what: str) -> Iterator[None]:
    """A materializer's failure to save, as an ArtifactError naming the artifact."""
    try:
        yield
    except BevelError:
        raise
    except Exception as exc:
        raise ArtifactError(
            f"cannot save {what} with materializer {ref}: {type(exc).__name__}: {exc}",
            hint="check the value the step returned, register another materializer for its type "
            "(bevel.register_materializer), or opt into pickle with `@step(pickle=True)`",
        ) from exc


def _describe(
    mat: Materializer,
    ref: str,
    obj: Any,
    visualize: bool,
    pending: PendingHash | None = None,
    beside: _Beside | None = None,
) -> tuple[dict[str, Any], dict[str, Visualization]]:
    """The object's metadata and visualizations (neither needs the content hash), while the
    saved folder's ``pending`` hash goes on; it is waited for here, also on failure, so no
    hashing thread outlives the save. With ``beside``, they were computed on its thread while
    the object was saved: this takes them (their failures warn here, as when computed here)."""
    try:
        if beside is not None:
            beside.wait()
            return _metadata(ref, beside.facts), (
                _visualizations(ref, beside.views) if visualize else {}
            )
        return _metadata(ref, lambda: mat.metadata(obj)), (
            _visualizations(ref, lambda: mat.visualizations(obj)) if visualize else {}
        )
    finally:
        if pending is not None:
            pending.wait()


class _Beside:
    """A materializer's ``metadata()`` and ``visualizations()`` of a big object, computed on a
    thread of their own while ``save()`` writes it (``Materializer.describes_beside_save``:
    the numpy materializer's summary of a 100 MiB array takes ~14 ms, about half of writing
    it). Their results and errors are kept for :func:`_describe`, which runs on the saving
    thread; warnings are given there."""

    def __init__(self, mat: Materializer, obj: Any, visualize: bool) -> None:
        self.facts: Callable[[], Any] = _NOTHING
        self.views: Callable[[], Any] = _NOTHING
        self._thread = threading.Thread(
            target=self._run, args=(mat, obj, visualize), name="bevel-describe", daemon=True
        )
        self._thread.start()

    @classmethod
    def start(cls, mat: Materializer, obj: Any, visualize: bool) -> _Beside | None:
        """A thread describing ``obj`` if ``mat`` allows it and ``obj`` is big, else None."""
        if not getattr(mat, "describes_beside_save", False):
            return None
        nbytes = getattr(obj, "nbytes", None)
        if isinstance(nbytes, int) and nbytes < THREAD_MIN:
            return None  # a thread would cost more than the overlap saves
        return cls(mat, obj, visualize)

    def _run(self, mat: Materializer, obj: Any, visualize: bool) -> None:
        self.facts = _outcome(lambda: mat.metadata(obj))
        if visualize:
            self.views = _outcome(lambda: mat.visualizations(obj))

    def wait(self) -> None:
        self._thread.join()


def _NOTHING() -> Any:
    return {}


def _outcome(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call()``'s result or exception, as a function that returns or raises it again."""
    try:
        value = call()
    except Exception as exc:
        error = exc

        def again() -> Any:
            raise error

        return again
    return lambda: value


def _python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


_AS_JSON = json.JSONEncoder(default=str).encode  # one encoder, not one per artifact


def _metadata(ref: str, call: Callable[[], Any]) -> dict[str, Any]:
    """The materializer's facts (``call()``: its ``metadata(obj)``), made JSON-safe; a failure
    warns instead of losing the run."""
    try:
        facts = call()
        if not isinstance(facts, dict):
            raise TypeError(f"it returned a {type(facts).__name__}, not a dict")
        result: dict[str, Any] = json.loads(_AS_JSON(facts))
        return result
    except Exception as exc:
        warnings.warn(
            f"{ref}.metadata() failed, so the artifact has no metadata from it: {exc!r}",
            BevelWarning,
            stacklevel=4,
        )
        return {}


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _visualizations(ref: str, call: Callable[[], Any]) -> dict[str, Visualization]:
    """The materializer's visualizations (``call()``: its ``visualizations(obj)``); a failure
    only warns."""
    try:
        values = call()
        if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
            raise TypeError(f"it returned {values!r:.80}, not a dict of name -> visualization")
        return {name: Visualization.of(value) for name, value in values.items()}
    except Exception as exc:
        warnings.warn(
            f"{ref}.visualizations() failed, so the artifact has no visualizations: {exc!r}",
            BevelWarning,
            stacklevel=4,
        )
        return {}


def _store_visualizations(
    store: ArtifactStore, found: dict[str, Visualization], content_hash: str
) -> dict[str, str]:
    """Store each visualization once per content as ``viz/<hex>/<name><ext>`` (the extension
    says its kind, see :mod:`bevel.viz.kinds`); return name -> uri."""
    uris: dict[str, str] = {}
    for viz_name, viz in found.items():
        stem = _UNSAFE.sub("_", viz_name) or "viz"
        path = f"{VIZ_DIR}/{hex_of(content_hash)}/{stem}{viz.extension}"
        if not store.exists(path):
            _write_bytes(store, path, viz.to_bytes())
        uris[viz_name] = store.uri(path)
    return uris


def _write_bytes(store: ArtifactStore, path: str, data: bytes) -> None:
    if store.local_path("") is None:  # an object store PUT is atomic already
        with store.open(path, "wb") as f:
            f.write(data)
        return
    tmp = tmp_name()  # under .tmp/, where sweeps find what a killed save left behind
    with store.open(tmp, "wb") as f:
        f.write(data)
    store.rename(tmp, path)


def delete_artifact_files(store: ArtifactStore, uri: str) -> None:
    """Delete an artifact's folder, its marker and its visualizations.

    Identical content is stored once, so the caller must first check that no other artifact
    record points at the same ``uri`` (and, while other runs may be saving, that it was not
    used within a grace period: see :mod:`bevel.artifacts.gc`).
    """
    content.delete_content(store, artifact_path(store, uri))


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


def load_recorded(
    store: ArtifactStore, artifact: Recorded, *, verify: bool = True, private_dir: str | None = None
) -> Any:
    """Load a recorded artifact (errors name it as ``name vN``)."""
    return load_artifact(
        store,
        uri=artifact.uri,
        materializer=artifact.materializer,
        type_ref=artifact.type_ref,
        content_hash=artifact.content_hash,
        name=f"{artifact.name} v{artifact.version}",
        verify=verify,
        private_dir=private_dir,
    )


def handed_off(artifact: Recorded, obj: Any) -> Any:
    """What a consumer gets for the producer's in-memory ``obj``: exactly what loading
    ``artifact`` would give (``Materializer.reloaded``), or ``NotImplemented`` when only
    loading it can give that (the caller then loads it). An :class:`Owned` object (the last
    reader's, see :mod:`bevel.artifacts.handoff`) that nothing else refers to is given as it
    is where the materializer says that is what loading gives (``as_loaded``); taken once, so
    a step's second attempt loads its input."""
    alone = False
    if isinstance(obj, Owned):
        obj, alone = obj.take()
        if obj is TAKEN:
            return NotImplemented
    try:
        mat = get_materializer(artifact.materializer)
        type_ = _import_type(artifact.type_ref)
        if alone:
            given = mat.as_loaded(obj, type_)
            if given is not NotImplemented:
                return given
        return mat.reloaded(obj, type_)
    except Exception:  # a materializer's shortcut failing only costs a load
        return NotImplemented


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
    private_dir: str | None = None,
) -> Any:
    """Load an artifact back into a Python object.

    With ``verify`` the files are re-hashed first (the only cost of verifying; pass
    ``verify=False`` to skip it). A remote store's files are downloaded once into ``cache_dir``
    (default ``$BEVEL_CACHE_DIR`` or ``~/.cache/bevel/artifacts``), keyed by content hash.

    A materializer whose loaded object refers to its files (``keeps_files``, e.g. ``Path``) is
    given a private copy of the folder, made in ``private_dir`` (default: a temporary folder
    removed when the process exits), so writing through the object cannot change the stored
    artifact or the download cache.
    """
    path = artifact_path(store, uri)
    if not path or not store.exists(path):
        raise ArtifactMissing(
            f"artifact {name!r} is missing from the artifact store: nothing at {uri}",
            hint=f"its files were deleted or moved; {RERUN_HINT}",
        )
    mat = get_materializer(materializer)
    folder = store.local_path(path)
    local = folder is not None
    if folder is None:  # downloaded and verified once, into the download cache
        folder = fetch(
            store,
            path,
            uri=uri,
            content_hash=content_hash,
            name=name,
            verify=verify,
            cache_dir=cache_dir,
        )
    if getattr(mat, "keeps_files", False):
        folder = private_copy(folder, private_dir)
    type_ = _import_type(type_ref)
    try:
        if verify and local:  # the files handed to the materializer (for Path: the private copy)
            loaded = _load_verified(mat, folder, type_, uri=uri, content_hash=content_hash,
                                    name=name)  # fmt: skip
            if loaded is not _NOT_LOADED:
                return loaded
            verify_folder(folder, uri=uri, content_hash=content_hash, name=name)
        return mat.load(folder, type_)
    except ArtifactCorrupted:
        raise
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


_NOT_LOADED = object()


def _load_verified(
    mat: Materializer, folder: str, type_: type | None, *, uri: str, content_hash: str, name: str
) -> Any:
    """The object from one pass over the files, verified (``Materializer.load_hashed``), or
    ``_NOT_LOADED`` when the materializer cannot do that for this folder, or when the content
    was recorded with an older hash function than the one ``load_hashed`` hashes with (it is
    then verified with that one, then loaded: two passes)."""
    if algorithm_of(content_hash) != ALGORITHM:
        return _NOT_LOADED
    try:
        done = mat.load_hashed(folder, type_)
    except HashedReadError as exc:  # damaged: say so when the bytes changed, else why
        check_hash(exc.content_hash, uri=uri, content_hash=content_hash, name=name)
        cause = exc.__cause__
        assert cause is not None
        raise cause from None
    if done is None:
        return _NOT_LOADED
    obj, actual = done
    check_hash(actual, uri=uri, content_hash=content_hash, name=name)
    return obj


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
