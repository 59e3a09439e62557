"""Text artifacts that show as what they are: HTML, Markdown, CSV and JSON strings.

They are ``str`` subclasses, so a step returns them like any string and its consumers use them
as strings; the artifact is stored as a file with the matching extension and visualized as a
page, a rendered document, a table or pretty-printed JSON::

    from bevel import HTMLString, MarkdownString, step

    @step
    def report(accuracy: float) -> MarkdownString:
        return MarkdownString(f"# Model report\\n\\nAccuracy: **{accuracy:.3f}**")
"""

from __future__ import annotations


class HTMLString(str):
    """HTML text (shown as is: include what it needs inline to work offline)."""

    __slots__ = ()


class MarkdownString(str):
    """Markdown text (rendered as CommonMark with tables; raw HTML inside is escaped)."""

    __slots__ = ()


class CSVString(str):
    """CSV text (shown as a table of its first rows)."""

    __slots__ = ()


class JSONString(str):
    """JSON text (shown pretty-printed)."""

    __slots__ = ()
