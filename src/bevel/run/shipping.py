"""Code shipping: the project's source goes to remote workers through the artifact store.

Before a run on an orchestrator that ships code (``dask``), the driver packages the project
(the folder holding ``.bevel/``, or the pipeline file's folder when the file is outside it):
the files ``git ls-files --cached --others --exclude-standard``
lists when it is a git work tree, else every file not excluded by its ``.gitignore`` files;
``.bevel/``, ``.git/``, virtual environments and ``__pycache__`` never. The zip is
deterministic (sorted names, fixed times), so its SHA-256 names the code exactly; it is
uploaded once to ``code/<hex>.zip`` in the artifact store (an archive already there is not
uploaded again) and its hash is recorded on the run (run metadata ``code.archive``).

A worker fetches an archive once per hash (``$BEVEL_CACHE_DIR/code/<hex>/``, extracted
atomically), puts that folder first on ``sys.path`` and forgets modules imported from another
archive, so a code change reaches already-running workers with nothing rebuilt or restarted.
A step running when a new version arrives keeps the functions it already has. Installed
packages (the environment, e.g. a Docker image built per lockfile) are not shipped.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.remote_cache import default_cache_dir
from bevel.errors import ConfigError

if TYPE_CHECKING:
    import subprocess
    import zipfile
else:  # every run imports this module (the worker); only shipping code to workers uses these
    subprocess = lazy_module("subprocess")
    zipfile = lazy_module("zipfile")

DEFAULT_LIMIT = 50 * 2**20
_NEVER = {".bevel", ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}
_STAMP = (2020, 1, 1, 0, 0, 0)
_lock = threading.Lock()
_active: str | None = None  # the extracted folder this process imports project code from


@dataclass(frozen=True)
class CodeRef:
    """Where a run's code is: ``digest`` ("sha256:<hex>"), its path in the artifact store, and
    the driver's project root (to map the driver's file paths into the archive)."""

    digest: str
    path: str
    root: str

    @property
    def hex(self) -> str:
        return self.digest.partition(":")[2]


def code_root(project: Path, pipeline_file: str) -> Path:
    """The folder to ship: the project (the folder holding ``.bevel/``), or the pipeline file's
    own folder when the file lives outside it."""
    if pipeline_file.endswith(".py"):
        file = Path(pipeline_file).resolve()
        try:
            file.relative_to(project.resolve())
        except ValueError:
            return file.parent
    return project


def project_files(root: Path) -> list[str]:
    """The files to ship, relative to ``root`` (posix separators), sorted."""
    listed = _git_files(root)
    names = listed if listed is not None else _walk(root)
    keep = []
    for name in names:
        parts = name.split("/")
        if any(part in _NEVER for part in parts[:-1]) or name.endswith((".pyc", ".pyo")):
            continue
        if (root / name).is_file():
            keep.append(name)
    return sorted(set(keep))


def _git_files(root: Path) -> list[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        found = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode != 0:
        return None  # not a git work tree
    return [n for n in found.stdout.decode("utf-8", "surrogateescape").split("\0") if n]


def _walk(root: Path) -> list[str]:
    """Every file under ``root`` that its .gitignore files do not exclude (the common subset
    of the syntax: globs, ``dir/``, leading ``/`` anchors, ``!`` re-includes)."""
    found: list[str] = []
    rules: list[tuple[str, list[str]]] = []  # (folder relative to root, its patterns)
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        ignore = Path(folder) / ".gitignore"
        if ignore.is_file():
            lines = ignore.read_text(errors="replace").splitlines()
            rules.append(
                (rel, [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")])
            )
        dirs[:] = sorted(
            d for d in dirs if d not in _NEVER and not _ignored(_join(rel, d), True, rules)
        )
        found += [_join(rel, f) for f in files if not _ignored(_join(rel, f), False, rules)]
    return found


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _ignored(path: str, is_dir: bool, rules: list[tuple[str, list[str]]]) -> bool:
    ignored = False
    for base, patterns in rules:
        if base and not path.startswith(base + "/"):
            continue
        rel = path[len(base) + 1 :] if base else path
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = pattern[1:] if negate else pattern
            if pat.endswith("/"):
                if not is_dir:
                    continue
                pat = pat[:-1]
            anchored = pat.startswith("/") or "/" in pat
            pat = pat.lstrip("/")
            target = rel if anchored else rel.rsplit("/", 1)[-1]
            if fnmatch.fnmatchcase(target, pat):
                ignored = not negate
    return ignored


def build_archive(root: Path, limit: int = DEFAULT_LIMIT) -> tuple[bytes, str]:
    """The project's deterministic zip and its digest. ConfigError past ``limit`` bytes of
    source, naming the largest files."""
    names = project_files(root)
    sizes = {n: (root / n).stat().st_size for n in names}
    total = sum(sizes.values())
    if total > limit:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:5]
        shown = ", ".join(f"{n} ({sizes[n] / 2**20:.1f} MiB)" for n in largest)
        raise ConfigError(
            f"the project at {root} has {total / 2**20:.1f} MiB of files to ship to workers, more"
            f" than the limit of {limit / 2**20:.0f} MiB (largest: {shown})",
            hint="keep data out of the project's source (list it in .gitignore, or read it from"
            " the artifact store), or raise the orchestrator's code_size_limit",
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, _STAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes())
    data = buffer.getvalue()
    return data, f"sha256:{hashlib.sha256(data).hexdigest()}"


def archive_path(digest: str) -> str:
    """Where the archive of ``digest`` ("sha256:<hex>") is in the artifact store."""
    return f"code/{digest.partition(':')[2]}.zip"


def ship(store: ArtifactStore, root: Path, limit: int = DEFAULT_LIMIT) -> CodeRef:
    """Package the project at ``root`` and upload it (once per content) to ``store``."""
    data, digest = build_archive(root, limit)
    ref = CodeRef(digest, archive_path(digest), str(root))
    if not store.exists(ref.path):
        store.makedirs("code")
        tmp = f"code/.{os.urandom(8).hex()}.tmp"
        with store.open(tmp, "wb") as fh:
            fh.write(data)
        store.rename(tmp, ref.path)  # never a half-written archive under its final name
    return ref


def fetch(store: ArtifactStore, ref: CodeRef, cache_dir: str | None = None) -> Path:
    """The archive extracted on this machine (downloaded and checked once per hash)."""
    base = Path(cache_dir or default_cache_dir()).parent / "code"
    target = base / ref.hex
    if target.is_dir():
        return target
    base.mkdir(parents=True, exist_ok=True)
    with store.open(ref.path, "rb") as fh:
        data = fh.read()
    if f"sha256:{hashlib.sha256(data).hexdigest()}" != ref.digest:
        raise ConfigError(
            f"the code archive {store.uri(ref.path)} does not match its hash {ref.digest}",
            hint="run the pipeline again: the driver uploads the archive anew",
        )
    tmp = base / f".tmp-{os.urandom(8).hex()}"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process extracted it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def activate(folder: Path) -> None:
    """Import project code from ``folder`` from now on: first on ``sys.path``, and modules
    imported from another archive forgotten (the next import loads this version)."""
    global _active
    path = str(folder)
    with _lock:
        if _active == path:
            return
        code_root = str(folder.parent) + os.sep
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None) or ""
            if file.startswith(code_root) and not file.startswith(path + os.sep):
                del sys.modules[name]
        sys.path[:] = [p for p in sys.path if not p.startswith(code_root)]
        sys.path.insert(0, path)
        _active = path


def localize(file: str, ref: CodeRef, folder: Path) -> str | None:
    """Where the driver's ``file`` is in the extracted archive (None: not part of it)."""
    try:
        rel = Path(file).resolve().relative_to(Path(ref.root).resolve())
    except ValueError:
        return None
    found = folder / rel
    return str(found) if found.is_file() else None
