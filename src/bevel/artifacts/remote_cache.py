"""A local copy of artifacts from remote stores, kept once per content hash.

Materializers read local folders, so an artifact in ``s3://`` is downloaded first. Keying the
copy by content hash makes it shareable between runs and safe to reuse: identical content is the
same folder, and a damaged copy is detected by re-hashing and fetched again.
"""

from __future__ import annotations

import os
import shutil

from bevel.artifacts._paths import local_rename
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.hashing import hash_folder, hex_of, verify_folder

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
        if not verify or hash_folder(target)[0] == content_hash:
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
