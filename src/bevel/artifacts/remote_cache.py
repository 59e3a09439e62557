"""Local copies of artifacts: downloads of remote ones, kept once per content hash, and the
private copies handed to code that gets a path into an artifact.

Materializers read local folders, so an artifact in ``s3://`` is downloaded first. Keying the
copy by content hash makes it shareable between runs and safe to reuse: identical content is the
same folder, and a damaged copy is detected by re-hashing and fetched again.
"""

from __future__ import annotations

import atexit
import os
from typing import TYPE_CHECKING

from bevel._lazy import lazy_module
from bevel.artifacts._paths import local_rename
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.hashing import algorithm_of, hash_folder, hex_of, verify_folder

if TYPE_CHECKING:
    import shutil
    import tempfile
else:  # copies of remote artifacts, and of those a step takes as a path: most runs make none
    shutil = lazy_module("shutil")
    tempfile = lazy_module("tempfile")

ENV_CACHE_DIR = "BEVEL_CACHE_DIR"


def default_cache_dir() -> str:
    """``$BEVEL_CACHE_DIR``, else ``$XDG_CACHE_HOME/bevel/artifacts`` (``~/.cache/...``)."""
    if os.environ.get(ENV_CACHE_DIR):
        return os.path.expanduser(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "bevel", "artifacts")


def fetch(
    store: ArtifactStore,
    path: str,
    *,
    uri: str,
    content_hash: str,
    name: str,
    verify: bool,
    cache_dir: str | None = None,
) -> str:
    """The local folder holding the artifact at ``path``, downloaded (and verified) once."""
    cache = cache_dir or default_cache_dir()
    target = os.path.join(cache, hex_of(content_hash))
    if os.path.isdir(target):
        if not verify or hash_folder(target, algorithm_of(content_hash))[0] == content_hash:
            return target
        shutil.rmtree(target, ignore_errors=True)  # a damaged copy: fetch it again
    tmp = os.path.join(cache, f".tmp-{os.urandom(16).hex()}")
    os.makedirs(tmp)
    try:
        store.get(path, tmp, recursive=True)
        if verify:
            verify_folder(tmp, uri=uri, content_hash=content_hash, name=name)
        try:
            local_rename(tmp, target)
        except FileExistsError:  # another process cached it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


_private_root: str | None = None


def private_copy(folder: str, parent: str | None = None) -> str:
    """A fresh copy of ``folder`` that the caller may modify freely: inside ``parent`` (created
    if needed), else inside a temporary folder of this process that is removed at exit."""
    root = parent or _default_private_root()
    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, os.urandom(8).hex())
    shutil.copytree(folder, target, copy_function=shutil.copyfile)  # writable, whatever the mode
    return target


def _default_private_root() -> str:
    global _private_root
    if _private_root is None or not os.path.isdir(_private_root):
        _private_root = tempfile.mkdtemp(prefix="bevel-loaded-")
        atexit.register(shutil.rmtree, _private_root, True)
    return _private_root
