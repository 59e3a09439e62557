"""``pathlib.Path``: the file or the whole folder it points at is copied into the artifact.

A step that writes a report or a model folder returns its Path; the artifact then holds a
content-hashed copy, and loading gives a Path to a *private copy* of it (``keeps_files``): the
stored files and the download cache are never handed out, so a step that writes into its
input folder changes only its own copy. (Not the original location either, which may be gone.)
"""

from __future__ import annotations

import codecs
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from bevel.artifacts.materializers.base import VisualizationValue
from bevel.errors import ArtifactError
from bevel.viz.html import esc, fragment, num, table
from bevel.viz.kinds import Visualization

_VIZ_BYTES = 5_000_000
_LISTED = 200
_FILE_KINDS = {
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".csv": "csv",
    ".json": "json",
    ".png": "png",
    ".svg": "svg",
    ".txt": "text",
    ".log": "text",
}


def folder_listing(folder: Path) -> str:
    """The files of a folder (the first 200, by path) with their sizes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    rows = [
        [f"<code>{esc(p.relative_to(folder).as_posix())}</code>", esc(num(p.stat().st_size))]
        for p in files[:_LISTED]
    ]
    more = f'<p class="bv-m">… and {len(files) - _LISTED} more</p>' if len(files) > _LISTED else ""
    return fragment(
        table(("file", "bytes"), rows, numeric=(1,)) + more,
        title=f"{folder.name}/",
        subtitle=f"{len(files)} files",
    )


class PathMaterializer:
    version: ClassVar[str] = "1"
    keeps_files: ClassVar[bool] = True  # a loaded Path points at a private copy, never the store

    def save(self, obj: Any, directory: str) -> None:
        source = Path(obj)
        target = os.path.join(directory, source.name or "root")
        if source.is_dir():
            shutil.copytree(source, target, copy_function=shutil.copyfile)
        elif source.is_file():
            shutil.copyfile(source, target)
        else:
            raise ArtifactError(
                f"the returned path {str(source)!r} does not exist (or is not a file or folder)",
                hint="return the Path only after writing to it",
            )

    def load(self, directory: str, type_: type | None) -> Any:
        entries = os.listdir(directory)
        if len(entries) != 1:
            raise ArtifactError(
                f"a Path artifact holds one file or folder, found {len(entries)} entries in "
                f"{directory}",
                hint="re-run the producing step",
            )
        return Path(directory, entries[0])

    def metadata(self, obj: Any) -> dict[str, Any]:
        source = Path(obj)
        if source.is_dir():
            files = [p for p in source.rglob("*") if p.is_file()]
            size = sum(p.stat().st_size for p in files)
            return {"kind": "folder", "name": source.name, "files": len(files), "size": size}
        size = source.stat().st_size if source.is_file() else 0
        return {"kind": "file", "name": source.name, "size": size}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        """A file of a kind bevel shows (HTML, Markdown, CSV, JSON, PNG, SVG, text) is shown as
        such, up to 5 MB; a folder as the list of its files."""
        source = Path(obj)
        if source.is_dir():
            return {"files": Visualization("html", folder_listing(source))}
        kind = _FILE_KINDS.get(source.suffix.lower())
        if kind is None or not source.is_file() or source.stat().st_size > _VIZ_BYTES:
            return {}
        data = source.read_bytes()
        return {
            source.name: Visualization(
                kind, data if kind in ("png", "svg") else data.decode("utf-8", "replace")
            )
        }

    def preview(self, directory: str, type_: type | None) -> str | None:
        """What the artifact holds, read in place (loading would copy it all): a folder's first
        files with their sizes, or a file's name, size and, for text, its first 4 KiB."""
        entries = os.listdir(directory)
        if len(entries) != 1:
            return None  # loading says what is wrong
        path = Path(directory, entries[0])
        if path.is_dir():
            return _folder_preview(path)
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(_PREVIEW_BYTES)
        try:  # an incremental decoder: a character cut at the end of the head is no error
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=size <= len(head))
        except UnicodeDecodeError:
            return f"{path.name}  ({size:,} bytes, binary)"
        more = "\n…" if size > len(head) else ""
        return f"{path.name}  ({size:,} bytes)\n{text}{more}"


_PREVIEW_BYTES = 4096
_PREVIEW_FILES = 20


def _folder_preview(root: Path) -> str:
    shown: list[str] = []
    more = False
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if len(shown) == _PREVIEW_FILES:
                more = True
                break
            file = Path(folder, name)
            shown.append(f"  {file.relative_to(root)}  ({file.stat().st_size:,} bytes)")
        if more:
            break
    if not shown:
        return f"{root.name}/  (empty)"
    tail = ["  … more (the metadata below counts them all)"] if more else []
    return "\n".join([f"{root.name}/", *shown, *tail])
