"""HTMLString, MarkdownString, CSVString and JSONString as one text file each.

The file's extension says what it is (``text.html``, ``text.md``, ``text.csv``, ``text.json``),
so the stored artifact opens in any tool; loading gives back the same subclass of ``str``.
"""

from __future__ import annotations

import os
from typing import Any

from bevel.artifacts.materializers.base import Materializer, VisualizationValue
from bevel.artifacts.text_types import CSVString, HTMLString, JSONString, MarkdownString
from bevel.errors import ArtifactError
from bevel.viz.kinds import Visualization

_KINDS: dict[type, tuple[str, str]] = {
    HTMLString: ("html", ".html"),
    MarkdownString: ("markdown", ".md"),
    CSVString: ("csv", ".csv"),
    JSONString: ("json", ".json"),
}


def _kind(obj: Any) -> tuple[str, str]:
    for cls in type(obj).__mro__:
        if cls in _KINDS:
            return _KINDS[cls]
    raise ArtifactError(
        f"{type(obj).__qualname__} is not one of HTMLString, MarkdownString, CSVString, JSONString",
        hint="wrap the text: bevel.HTMLString(text)",
    )


class TextMaterializer(Materializer):
    def save(self, obj: Any, directory: str) -> None:
        for name, data in self.encode(obj).items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)

    def encode(self, obj: Any) -> dict[str, bytes]:
        """The files ``save`` writes, in memory (bevel hashes small artifacts before writing)."""
        _, ext = _kind(obj)
        return {"text" + ext: str.__str__(obj).encode("utf-8")}

    def load(self, directory: str, type_: type | None) -> Any:
        (name,) = [n for n in os.listdir(directory) if n.startswith("text.")]
        with open(os.path.join(directory, name), encoding="utf-8", newline="") as f:
            text = f.read()
        if type_ is not None and issubclass(type_, str):
            return type_(text)
        ext = os.path.splitext(name)[1]
        return next(cls for cls, (_, e) in _KINDS.items() if e == ext)(text)

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"kind": _kind(obj)[0], "length": len(obj)}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        kind, _ = _kind(obj)
        return {kind: Visualization(kind, str.__str__(obj))}
