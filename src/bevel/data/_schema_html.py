"""The HTML of a :class:`~bevel.data.schema.Schema`: one row per column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel.data._profile_html import when
from bevel.viz.html import badge, esc, fragment, num, table

if TYPE_CHECKING:
    from bevel.data.schema import Schema


def _categories(values: list[object] | None) -> str:
    if values is None:
        return '<span class="bv-m">any</span>'
    shown = ", ".join(esc(v) for v in values[:12])
    more = f' <span class="bv-m">+{len(values) - 12} more</span>' if len(values) > 12 else ""
    return f"{shown}{more}" if values else '<span class="bv-m">none</span>'


def render(schema: Schema) -> str:
    rows = []
    for name, c in schema.columns.items():
        bound = "-"
        if c.min is not None or c.max is not None:
            low = "-∞" if c.min is None else (when(c.min) if c.kind == "datetime" else num(c.min))
            high = "∞" if c.max is None else (when(c.max) if c.kind == "datetime" else num(c.max))
            bound = f"{esc(low)} … {esc(high)}"
        rows.append(
            [
                f'<span class="bv-name">{esc(name)}</span>'
                + ("" if c.required else f" {badge('optional')}"),
                f"<code>{esc(c.dtype)}</code>",
                esc(c.kind),
                badge("nullable", "muted") if c.nullable else badge("required", "info"),
                bound,
                _categories(c.categories),
            ]
        )
    strict = "new columns are anomalies" if schema.strict else "new columns are allowed"
    body = table(("column", "type", "kind", "nulls", "range", "categories"), rows)
    return fragment(body, title="Schema", subtitle=f"{len(schema.columns)} columns · {esc(strict)}")
