"""HTML building blocks: escaping, numbers, tables, badges, cards, fragments and pages.

Every piece of user data goes through :func:`esc`; builders return markup strings. A fragment
is wrapped in ``<div class="bv">`` and carries the (scoped) stylesheet, so it renders the same
in a Jupyter cell, in the dashboard and inside a page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

#: The stylesheet of every fragment; all rules are scoped under ``.bv``.
STYLE = """
.bv{font:13px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;color:#1f2328;background:#fff;border:1px solid #d1d9e0;border-radius:10px;
padding:14px 18px;margin:6px 0;max-width:100%;overflow-x:auto;box-sizing:border-box}
.bv *{box-sizing:border-box}
.bv h2{font-size:16px;margin:0 0 2px;font-weight:650}
.bv h3{font-size:13px;margin:16px 0 6px;font-weight:650;color:#1f2328}
.bv .bv-sub{color:#59636e;font-size:12px;margin:0 0 10px}
.bv .bv-cards{display:flex;gap:10px;flex-wrap:wrap;margin:10px 0 14px}
.bv .bv-card{border:1px solid #e1e6eb;border-radius:8px;padding:7px 12px;min-width:104px;
background:#f6f8fa}
.bv .bv-card .bv-v{font-size:17px;font-weight:650;font-variant-numeric:tabular-nums}
.bv .bv-card .bv-l{font-size:11px;color:#59636e;text-transform:uppercase;letter-spacing:.04em}
.bv table.bv-t{border-collapse:collapse;margin:4px 0 8px}
.bv table.bv-t th{font-weight:600;text-align:left;color:#59636e;font-size:11px;
text-transform:uppercase;letter-spacing:.04em;border-bottom:1px solid #d1d9e0;
padding:6px 10px;white-space:nowrap;background:#fff}
.bv table.bv-t td{padding:6px 10px;border-bottom:1px solid #eef1f4;vertical-align:top;
text-align:left}
.bv table.bv-t tr:last-child td{border-bottom:none}
.bv table.bv-t.bv-plain th{text-transform:none;letter-spacing:0;font-size:12px;color:#1f2328}
.bv table.bv-t td.n,.bv table.bv-t th.n{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.bv table.bv-t tr.bv-row-diff td{background:#fff8c5}
.bv table.bv-t tr.bv-row-bad td{background:#fff5f5}
.bv .bv-c-bad{color:#a40e26}
.bv .bv-c-ok{color:#116329}
.bv .bv-b{display:inline-block;padding:0 7px;border-radius:10px;font-size:11px;font-weight:600;
line-height:18px;white-space:nowrap}
.bv .bv-ok{background:#dafbe1;color:#116329}
.bv .bv-warn{background:#fff1c2;color:#7d4e00}
.bv .bv-bad{background:#ffebe9;color:#a40e26}
.bv .bv-info{background:#ddf4ff;color:#0550ae}
.bv .bv-muted{background:#eff2f5;color:#59636e}
.bv .bv-m{color:#59636e;font-size:12px}
.bv code,.bv pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.bv code{background:#eff2f5;border-radius:4px;padding:0 4px}
.bv pre{background:#f6f8fa;border:1px solid #e1e6eb;border-radius:6px;padding:8px 10px;
overflow:auto;max-height:420px;margin:4px 0;white-space:pre}
.bv .bv-name{font-weight:600}
.bv .bv-bar{display:inline-block;width:64px;height:6px;background:#eef1f4;border-radius:3px;
vertical-align:middle;margin-right:6px;overflow:hidden}
.bv .bv-bar>span{display:block;height:100%;background:#cf222e;border-radius:3px}
.bv .bv-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}
.bv .bv-panel{border:1px solid #e1e6eb;border-radius:8px;padding:8px 10px}
.bv .bv-panel h4{margin:0 0 4px;font-size:12px;font-weight:600}
.bv img{max-width:100%;height:auto}
.bv svg{display:block;overflow:visible}
.bv svg text{font:10px -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Arial,sans-serif;
fill:#59636e}
.bv .bv-md h1,.bv .bv-md h2,.bv .bv-md h3{margin:12px 0 6px}
.bv .bv-md table{border-collapse:collapse}
.bv .bv-md th,.bv .bv-md td{border:1px solid #d1d9e0;padding:4px 8px}
.bv .bv-sec+.bv-sec{margin-top:18px;padding-top:14px;border-top:1px solid #eef1f4}
""".strip()

_PAGE_STYLE = (
    "body{margin:0;background:#f0f2f5}"
    "main{max-width:1180px;margin:28px auto;padding:0 18px}"
    "main>header{font:13px -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Arial,sans-serif;"
    "color:#59636e;margin:0 0 12px}"
    "main>header h1{font-size:20px;color:#1f2328;margin:0 0 4px;font-weight:650}"
    "main>.bv{margin:0 0 16px;padding:18px 22px}"
)

TONES = ("ok", "warn", "bad", "info", "muted")


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute use (``None`` becomes ``""``)."""
    text = "" if value is None else str(value)
    # html.escape(text, quote=True), written out: the html module builds its table of 2,231
    # named entities on import (~2 ms of every run that saves an array), for unescaping only
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def num(value: Any, digits: int = 4) -> str:
    """A number for people: ``1,000,000``, ``0.1235``, ``1.23e+08``; ``-`` when missing."""
    if value is None or isinstance(value, bool):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1e15 or magnitude < 1e-3:
        return f"{value:.{max(digits - 1, 1)}e}"
    if magnitude >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


def pct(part: float, whole: float) -> str:
    """``12.5%``, ``<0.1%`` for tiny non-zero shares, ``0%`` for none."""
    if not whole or not part:
        return "0%"
    share = 100.0 * part / whole
    if share < 0.1:
        return "<0.1%"
    return f"{share:.1f}%" if share < 99.95 or part == whole else ">99.9%"


def badge(text: str, tone: str = "muted") -> str:
    """A small rounded label; ``tone`` is one of :data:`TONES`."""
    return f'<span class="bv-b bv-{tone if tone in TONES else "muted"}">{esc(text)}</span>'


def share_bar(part: float, whole: float) -> str:
    """A thin bar showing ``part / whole`` (used for missing values)."""
    width = 0.0 if not whole else max(0.0, min(100.0, 100.0 * part / whole))
    if part and width < 2:
        width = 2.0
    return f'<span class="bv-bar"><span style="width:{width:.1f}%"></span></span>'


def cards(items: Iterable[tuple[str, str]]) -> str:
    """A row of big-number cards: ``(label, value-markup)`` pairs."""
    body = "".join(
        f'<div class="bv-card"><div class="bv-v">{value}</div><div class="bv-l">{esc(label)}'
        "</div></div>"
        for label, value in items
    )
    return f'<div class="bv-cards">{body}</div>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    row_classes: Sequence[str] | None = None,
    plain_headers: bool = False,
) -> str:
    """A table of markup cells (escape values with :func:`esc` first); columns whose index is
    in ``numeric`` are right-aligned with tabular figures. ``plain_headers`` keeps the headers'
    case (for user data: column and run names)."""
    right = set(numeric)

    def cls(i: int) -> str:
        return ' class="n"' if i in right else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        extra = row_classes[r] if row_classes and r < len(row_classes) else ""
        tr = f'<tr class="{extra}">' if extra else "<tr>"
        body.append(tr + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>")
    return f'<table class="{"bv-t bv-plain" if plain_headers else "bv-t"}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def heading(title: str, subtitle: str = "") -> str:
    sub = f'<p class="bv-sub">{subtitle}</p>' if subtitle else ""
    return f"<h2>{esc(title)}</h2>{sub}"


def fragment(*parts: str, title: str = "", subtitle: str = "") -> str:
    """A self-contained block (its stylesheet included) for a notebook cell or a page.

    ``subtitle`` is markup (escape user values in it)."""
    head = heading(title, subtitle) if title else ""
    return f'<div class="bv"><style>{STYLE}</style>{head}{"".join(parts)}</div>'


_STYLE_TAG = f"<style>{STYLE}</style>"


def page(title: str, fragments: Iterable[str], *, subtitle: str = "") -> str:
    """A whole HTML document from fragments; the shared stylesheet appears once."""
    body = "".join(f.replace(_STYLE_TAG, "") for f in fragments)
    sub = f"<div>{subtitle}</div>" if subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_PAGE_STYLE}\n{STYLE}</style></head>"
        f"<body><main><header><h1>{esc(title)}</h1>{sub}</header>{body}</main></body></html>\n"
    )


_EXTERNAL = re.compile(
    r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:|//|ftp:)"""
    r"""|url\(\s*["']?\s*(?:https?:|//)|@import""",
    re.IGNORECASE,
)


def external_references(markup: str) -> list[str]:
    """The places where ``markup`` would load something from the network (should be none)."""
    return [m.group(0) for m in _EXTERNAL.finditer(markup)]
