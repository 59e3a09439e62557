"""The visualizations stored with every DataFrame and Series: a preview and the statistics.

Cheap by design, because they are produced on every save: the preview is the first rows of
the first columns, and the statistics are :func:`bevel.data.profile` on a seeded random sample
of :data:`STATISTICS_SAMPLE` rows (exact counts, missing values, min and max; the rest
estimated, and labelled so in the report) of at most :data:`STATISTICS_COLUMNS` columns. On a
1M x 10 frame this adds ~60 ms, about a sixth of an uncompressed Parquet save
(``benchmarks/run.py`` measures it). Turn them off per step (``@step(visualize=False)``) or per
run (``--no-visualize``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bevel.data.statistics import profile
from bevel.viz.html import esc, fragment, num, table

PREVIEW_ROWS = 10
PREVIEW_COLUMNS = 40
STATISTICS_SAMPLE = 20_000
STATISTICS_COLUMNS = 200


def preview_html(frame: pd.DataFrame) -> str:
    """The first rows of the first columns, with each column's dtype under its name."""
    shown = frame.iloc[:PREVIEW_ROWS, :PREVIEW_COLUMNS]
    headers = ["", *(str(c) for c in shown.columns)]
    types = ['<span class="bv-m">dtype</span>'] + [
        f'<span class="bv-m">{esc(t)}</span>' for t in shown.dtypes.astype(str)
    ]
    rows = [types]
    for label, (_, values) in zip(shown.index, shown.iterrows()):
        rows.append([f'<span class="bv-m">{esc(label)}</span>', *(_cell(v) for v in values)])
    more = []
    if frame.shape[0] > PREVIEW_ROWS:
        more.append(f"first {PREVIEW_ROWS} of {num(frame.shape[0])} rows")
    if frame.shape[1] > PREVIEW_COLUMNS:
        more.append(f"first {PREVIEW_COLUMNS} of {num(frame.shape[1])} columns")
    subtitle = f"{esc(num(frame.shape[0]))} rows &times; {esc(num(frame.shape[1]))} columns"
    if more:
        subtitle += " · " + esc(", ".join(more))
    numeric = [i + 1 for i, t in enumerate(shown.dtypes) if pd.api.types.is_numeric_dtype(t)]
    body = table(headers, rows, numeric=numeric, plain_headers=True)
    return fragment(body, title="Preview", subtitle=subtitle)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return '<span class="bv-m">∅</span>'
    if isinstance(value, float):
        return esc(num(value, 6))
    text = str(value)
    return esc(text if len(text) <= 60 else text[:59] + "…")


def statistics_html(frame: pd.DataFrame) -> str:
    head = frame.iloc[:, :STATISTICS_COLUMNS] if frame.shape[1] > STATISTICS_COLUMNS else frame
    return profile(head, sample=STATISTICS_SAMPLE).html()


def frame_visualizations(frame: pd.DataFrame) -> dict[str, str]:
    return {"preview": preview_html(frame), "statistics": statistics_html(frame)}
