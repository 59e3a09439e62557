"""External data: files and folders outside bevel that a step reads, made part of its cache key.

A step that opens ``data/train.csv`` by a path it was given would otherwise stay cached after
the file changes: only the path string is a parameter. Annotate the parameter instead::

    from pathlib import Path
    from bevel import ExternalPath, step

    @step
    def load(csv: ExternalPath = Path("data/train.csv")) -> pd.DataFrame:
        return pd.read_csv(csv)          # csv is a pathlib.Path

The path is recorded as the parameter (a string, relative paths as given: they are read from
the directory the pipeline runs in), and a fingerprint of what it points at enters the cache
key as the ingredient ``externals``:

* ``External(check="content")`` (what ``ExternalPath`` means): SHA-256 of the file's bytes, or
  of a folder's relative file names, sizes and bytes: exact, and costs reading the data on
  every run (about 0.5 s per GB);
* ``External(check="mtime")``: SHA-256 of the relative names, sizes and modification times:
  reads no data, but a rewrite that keeps size and modification time is not seen, and a
  ``touch`` or a fresh checkout busts the cache::

    from typing import Annotated
    from bevel import External

    def load(images: Annotated[Path, External(check="mtime")] = Path("data/images")): ...

A path that does not exist fingerprints as ``"missing"`` (the step runs, and is cached as
such). ``bevel runs explain`` names the external input that changed. Paths are local files;
on a remote worker they must exist at the same place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.errors import DefinitionError

if TYPE_CHECKING:
    import pathlib
    from pathlib import Path
else:  # every run compiles through this module; only a step with an ExternalPath needs Path
    pathlib = lazy_module("pathlib")

CHECKS = ("content", "mtime")


@dataclass(frozen=True)
class External:
    """Marks a ``Path`` parameter as an external input whose data is part of the cache key."""

    check: Literal["content", "mtime"] = "content"

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise DefinitionError(
                f"External(check={self.check!r}): check is one of {', '.join(CHECKS)}",
                hint='use External(check="content") (exact) or External(check="mtime") (cheap)',
            )


if TYPE_CHECKING:
    ExternalPath = Annotated[Path, External()]


def __getattr__(name: str) -> Any:
    """``ExternalPath`` (``Annotated[Path, External()]``), made on first use."""
    if name == "ExternalPath":
        value = globals()["ExternalPath"] = Annotated[pathlib.Path, External()]
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
