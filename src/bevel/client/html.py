"""Compact, self-contained HTML for notebook ``_repr_html_``: no scripts, no external CSS.

Every user-provided string goes through :func:`esc` (run names, params and errors can contain
``<`` and ``&``); callers build cells with :func:`esc` or pass :class:`Raw` for markup they made.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from bevel._dataclass import dataclass

_TABLE = 'style="border-collapse:collapse;font-size:12px;text-align:left"'
_CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;vertical-align:top;text-align:left"'
_STATUS_COLORS = {
    "completed": "#1a7f37",
    "cached": "#0969da",
    "failed": "#cf222e",
    "running": "#9a6700",
    "cancelled": "#6e7781",
    "skipped": "#6e7781",
}


@dataclass(frozen=True)
class Raw:
    """Markup that was built here and must not be escaped again."""

    markup: str


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: Any, tag: str = "td") -> str:
    body = value.markup if isinstance(value, Raw) else esc(value)
    return f"<{tag} {_CELL}>{body}</{tag}>"


def status(value: str) -> Raw:
    """A status word in its color (green completed, blue cached, red failed...)."""
    color = _STATUS_COLORS.get(value, "inherit")
    return Raw(f'<span style="color:{color};font-weight:600">{esc(value)}</span>')


def code(value: Any) -> Raw:
    return Raw(f"<code>{esc(value)}</code>")


def pre(value: str, max_height: int = 240) -> Raw:
    return Raw(
        f'<pre style="max-height:{max_height}px;overflow:auto;margin:0;font-size:11px">'
        f"{esc(value)}</pre>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str | None = None) -> str:
    head = "".join(_cell(h, "th") for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    cap = (
        f'<caption style="text-align:left;font-weight:600">{esc(caption)}</caption>'
        if caption
        else ""
    )
    return f"<table {_TABLE}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def fields(pairs: Iterable[tuple[str, Any]], caption: str | None = None) -> str:
    """A two-column key/value table (the header block of a run, step or artifact)."""
    body = "".join(f"<tr>{_cell(Raw(f'<b>{esc(k)}</b>'))}{_cell(v)}</tr>" for k, v in pairs)
    cap = (
        f'<caption style="text-align:left;font-weight:600">{esc(caption)}</caption>'
        if caption
        else ""
    )
    return f"<table {_TABLE}>{cap}<tbody>{body}</tbody></table>"


def section(*parts: str) -> str:
    return '<div style="display:flex;flex-direction:column;gap:6px">' + "".join(parts) + "</div>"
