"""Small text formatters shared by the notebook HTML and the CLI, so both say the same thing.

Pure functions over plain values: no rich, no HTML, no I/O.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any


def short_id(value: str | None, length: int = 8) -> str:
    """The first characters of an id: enough to be unique in practice, and accepted as a prefix."""
    return value[:length] if value else ""


def short_hash(value: str | None, length: int = 12) -> str:
    """``sha256:0bef169b3...`` -> ``0bef169b3a1c``: the digest without its algorithm prefix."""
    return (value or "").rpartition(":")[2][:length]


def duration(seconds: float | None) -> str:
    """``0.12s``, ``4.5s``, ``2m05s``, ``1h02m``; ``-`` when unknown (still running)."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def age(span: timedelta) -> str:
    """How long ago, in the largest whole unit: ``40 s``, ``6 min``, ``3 h``, ``2 days``."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def size(num_bytes: int | None) -> str:
    """Human-readable byte count (``512 B``, ``1.2 kB``, ``3.4 MB``)."""
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def timestamp(value: datetime | None) -> str:
    """Local wall-clock time to the second; ``-`` when absent."""
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def type_name(type_ref: str) -> str:
    """``sklearn.linear_model._logistic:LogisticRegression`` -> ``LogisticRegression``."""
    return type_ref.rpartition(":")[2] or type_ref or "-"


def value(obj: Any, limit: int = 80) -> str:
    """A JSON value on one line, shortened to ``limit`` characters."""
    text = obj if isinstance(obj, str) else json.dumps(obj, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def metric(number: float) -> str:
    """Metrics at a precision that keeps small differences between runs visible."""
    return f"{number:.6g}"


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 24) -> str:
    """Values as block characters scaled between their min and max; longer series are
    resampled to ``width`` evenly spaced points (the first and the last always kept)."""
    if not values:
        return ""
    if len(values) > width > 1:
        last = len(values) - 1
        values = [values[round(i * last / (width - 1))] for i in range(width)]
    low, high = min(values), max(values)
    if high == low:
        return _BARS[len(_BARS) // 2] * len(values)
    scale = (len(_BARS) - 1) / (high - low)
    return "".join(_BARS[round((v - low) * scale)] for v in values)


def first_line(text: str | None) -> str:
    """The headline of an error message (its first non-empty line)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
