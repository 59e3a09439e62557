"""The visualization stored with a numpy array: shape, dtype, summary and a plot.

1-D arrays get a line (up to 1,000 evenly spaced points) and a histogram; 2-D arrays a heatmap
(a PNG made without matplotlib, at most 256 x 256 cells, evenly strided); other shapes a
histogram of all values. Summaries of arrays larger than :data:`SAMPLE` elements are computed on
that many evenly spaced elements (labelled so), so saving a large array stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bevel.viz import svg
from bevel.viz.html import cards, esc, fragment, num, table
from bevel.viz.png import encode_rgb, img, viridis_lut

#: Elements a summary is computed on. 250,000 evenly spaced elements give the mean and standard
#: deviation to a fraction of a percent; gathering them from a 100 MiB array reads only part of
#: its cache lines, where 1,000,000 (every 13th float) read all of them: 11 ms instead of 76 ms.
SAMPLE = 250_000
_LINE_POINTS = 1_000
_HEAT = 256
_LUT = np.frombuffer(viridis_lut(), dtype=np.uint8).reshape(256, 3)


def _size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{nbytes} B"


def array_html(array: np.ndarray[Any, Any]) -> str:
    facts = [
        ("shape", " &times; ".join(str(int(d)) for d in array.shape) or "scalar"),
        ("dtype", esc(str(array.dtype))),
        ("elements", esc(num(int(array.size)))),
        ("memory", esc(_size(int(array.nbytes)))),
    ]
    parts = [cards(facts)]
    numeric = array.dtype.kind in "biuf"
    if array.ndim == 0 or array.size == 0:
        parts.append(f"<pre>{esc(repr(array.tolist()))}</pre>")
        return fragment(*parts, title="Array")
    if not numeric:
        first = [esc(v) for v in array.ravel()[:20].tolist()]
        parts.append(f"<pre>{', '.join(first)}{' …' if array.size > 20 else ''}</pre>")
        return fragment(*parts, title="Array")
    flat = array.ravel(order="K")  # a view of any contiguous array, C or Fortran order
    step = max(1, flat.size // SAMPLE)
    # One strided pass gathers the sample into contiguous memory; every statistic after it
    # reads 8 MB instead of striding over the whole array again (~2x faster on 100 MiB).
    values = (
        np.array(flat[::step], dtype="float64") if step > 1 else flat.astype("float64", copy=False)
    )
    finite = values[np.isfinite(values)]
    stats = [
        ("min", finite.min() if finite.size else None),
        ("max", finite.max() if finite.size else None),
        ("mean", finite.mean() if finite.size else None),
        ("std", finite.std() if finite.size > 1 else None),
        ("NaN", int(np.isnan(values).sum())),
        ("±inf", int(np.isinf(values).sum())),
    ]
    rows = [[esc(k), esc(num(float(v) if isinstance(v, np.floating) else v))] for k, v in stats]
    note = (
        f'<p class="bv-m">summary of {num(int(values.size))} evenly spaced elements</p>'
        if step > 1
        else ""
    )
    parts.append(
        f'<div class="bv-grid"><div>{table(("statistic", "value"), rows, numeric=(1,))}{note}</div>'
    )
    if finite.size:
        counts, edges = _histogram(finite, float(finite.min()), float(finite.max()))
        parts.append(
            '<div class="bv-panel"><h4>histogram</h4>'
            + svg.histogram(counts.tolist(), edges.tolist(), width=330)
            + "</div>"
        )
    parts.append("</div>")
    if array.ndim == 1:
        parts.append(_line(array))
    elif array.ndim == 2:
        parts.append(_heatmap(array))
    return fragment(*parts, title="Array")


def _histogram(
    values: np.ndarray[Any, Any], low: float, high: float, bins: int = 30
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``np.histogram(values, bins)`` of finite values whose min and max are known, by one
    scaling and ``np.bincount`` (~5x faster on a 1M sample: numpy's general path sorts out each
    value's bin in blocks). A value on an inner edge may fall in the bin beside numpy's (the
    last rounding differs): invisible in a plot of 30 bars."""
    scale = bins / (high - low) if high > low else 0.0
    if not 0.0 < scale < float("inf"):
        return np.histogram(values, bins=bins)
    index = ((values - low) * scale).astype(np.intp)
    np.minimum(index, bins - 1, out=index)  # the maximum goes in the last bin, as in numpy
    return np.bincount(index, minlength=bins), np.linspace(low, high, bins + 1)


def _line(array: np.ndarray[Any, Any]) -> str:
    step = max(1, array.size // _LINE_POINTS)
    xs = np.arange(0, array.size, step)
    ys = array[::step].astype("float64", copy=False)
    chart = svg.line_chart(
        [("values", xs.tolist(), ys.tolist())], width=700, height=220, x_label="index"
    )
    label = "values" if step == 1 else f"values (1 in {step} shown)"
    return f'<div class="bv-panel"><h4>{esc(label)}</h4>{chart}</div>'


def _heatmap(array: np.ndarray[Any, Any]) -> str:
    rows, cols = array.shape
    rs, cs = max(1, -(-rows // _HEAT)), max(1, -(-cols // _HEAT))
    cells = array[::rs, ::cs].astype("float64", copy=False)
    finite = np.isfinite(cells)
    if finite.any():
        low, high = float(cells[finite].min()), float(cells[finite].max())
    else:
        low, high = 0.0, 1.0
    scaled = np.zeros(cells.shape) if high == low else (cells - low) / (high - low)
    index = np.clip(np.nan_to_num(scaled) * 255, 0, 255).astype(np.uint8)
    rgb = _LUT[index]
    rgb[~finite] = (200, 200, 200)
    height, width = index.shape
    png = encode_rgb(width, height, np.ascontiguousarray(rgb).tobytes())
    scale = max(1, 400 // max(width, height))
    shown = img(png, alt="heatmap", width=width * scale, pixelated=True)
    legend = (
        f'<p class="bv-m">{esc(num(low))} (dark) … {esc(num(high))} (bright)'
        + (f"; 1 in {rs} rows and 1 in {cs} columns shown" if rs > 1 or cs > 1 else "")
        + "</p>"
    )
    return f'<div class="bv-panel"><h4>heatmap</h4>{shown}{legend}</div>'
