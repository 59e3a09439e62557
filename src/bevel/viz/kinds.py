"""Visualizations as values: what a materializer returns, how it is stored, how it is shown.

A materializer's ``visualizations(obj)`` returns ``{name: value}``; a value is a
:class:`Visualization` or, for short, a ``str`` (HTML when it starts with ``<``, Markdown
otherwise) or ``bytes`` (a PNG image). Each is stored as one file named ``<name><extension>``
beside the artifact (``viz/<content hash>/``), whatever the artifact store, and turned back into
an HTML fragment by :func:`to_fragment` for a notebook cell or a page.

==========  =========  ===============================================================
kind        file       shown as
==========  =========  ===============================================================
html        .html      itself (bevel's own reports are self-contained fragments)
markdown    .md        rendered (markdown-it, CommonMark + tables; raw HTML escaped)
png         .png       an embedded image (a data: URI, never a file reference)
svg         .svg       an embedded image (as an <img>, so scripts inside cannot run)
json        .json      pretty-printed
csv         .csv       a table of the first rows
text        .txt       preformatted text
==========  =========  ===============================================================
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module

if TYPE_CHECKING:
    import base64
    import csv

    from bevel.viz import html, png
else:  # a run makes Visualizations; only showing one renders it (and needs these)
    base64 = lazy_module("base64")
    csv = lazy_module("csv")
    html = lazy_module("bevel.viz.html")
    png = lazy_module("bevel.viz.png")

EXTENSIONS: dict[str, str] = {
    "html": ".html",
    "markdown": ".md",
    "png": ".png",
    "svg": ".svg",
    "json": ".json",
    "csv": ".csv",
    "text": ".txt",
}
KIND_OF_EXTENSION = {ext: kind for kind, ext in EXTENSIONS.items()}
_CSV_ROWS = 50
_MAX_TEXT = 2_000_000  # characters of JSON/CSV/text shown (the file keeps everything)


@dataclass(frozen=True)
class Visualization:
    """One visualization: its ``kind`` (a key of :data:`EXTENSIONS`) and its content."""

    kind: str
    data: str | bytes

    def __post_init__(self) -> None:
        if self.kind not in EXTENSIONS:
            raise ValueError(
                f"unknown visualization kind {self.kind!r}; use one of {', '.join(EXTENSIONS)}"
            )

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]

    def to_bytes(self) -> bytes:
        return self.data if isinstance(self.data, bytes) else self.data.encode("utf-8")

    @classmethod
    def of(cls, value: Visualization | str | bytes) -> Visualization:
        """A materializer's value as a Visualization (see the module docstring)."""
        if isinstance(value, Visualization):
            return value
        if isinstance(value, bytes | bytearray):
            data = bytes(value)
            if png.is_png(data):
                return cls("png", data)
            raise ValueError("bytes visualizations must be PNG images (or give a Visualization)")
        if isinstance(value, str):
            return cls("html" if value.lstrip().startswith("<") else "markdown", value)
        raise TypeError(f"a visualization must be str, bytes or Visualization, not {type(value)}")


def kind_of(path: str) -> str:
    """The kind of a stored visualization file, from its extension (``text`` when unknown)."""
    dot = path.rfind(".")
    return KIND_OF_EXTENSION.get(path[dot:].lower(), "text") if dot >= 0 else "text"


def to_fragment(kind: str, data: bytes, *, title: str = "") -> str:
    """An HTML fragment showing stored visualization content of ``kind``."""
    if kind == "html":
        return data.decode("utf-8", errors="replace")
    if kind == "png":
        return html.fragment(
            f'<img src="{png.data_uri(data)}" alt="{html.esc(title)}">', title=title
        )
    if kind == "svg":
        uri = "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
        return html.fragment(f'<img src="{uri}" alt="{html.esc(title)}">', title=title)
    text = data.decode("utf-8", errors="replace")
    if kind == "markdown":
        return html.fragment(f'<div class="bv-md">{markdown_html(text)}</div>', title=title)
    if kind == "json":
        return html.fragment(_json_block(text), title=title)
    if kind == "csv":
        return html.fragment(csv_table(text), title=title)
    return html.fragment(f"<pre>{html.esc(_clip(text))}</pre>", title=title)


def markdown_html(text: str) -> str:
    """Markdown rendered to HTML; raw HTML in it is escaped, not passed through."""
    from markdown_it import MarkdownIt  # comes with rich (a core dependency); loaded on use

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def _json_block(text: str) -> str:
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = text
    return f"<pre>{html.esc(_clip(pretty))}</pre>"


def csv_table(text: str, rows: int = _CSV_ROWS) -> str:
    """The first ``rows`` rows of CSV text as a table (the header row as headings)."""
    reader = csv.reader(io.StringIO(_clip(text)))
    try:
        header = next(reader)
    except StopIteration:
        return '<p class="bv-m">(empty)</p>'
    body, more = [], 0
    for i, record in enumerate(reader):
        if i < rows:
            body.append([html.esc(cell) for cell in record])
        else:
            more += 1
    note = (
        f'<p class="bv-m">first {html.num(rows)} rows of {html.num(rows + more)}</p>'
        if more
        else ""
    )
    return html.table(header, body, plain_headers=True) + note


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "\n…"
