"""The shared text formatters (used by the CLI and the notebook HTML)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bevel.client import format as fmt
from bevel.client import html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.1234, "0.12s"), (12.34, "12.3s"), (125, "2m05s"), (3725, "1h02m")],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert fmt.duration(seconds) == text


@pytest.mark.parametrize(("n", "text"), [(512, "512 B"), (1200, "1.2 kB"), (3_400_000, "3.4 MB")])
def test_size(n: int, text: str) -> None:
    assert fmt.size(n) == text


def test_small_helpers() -> None:
    assert fmt.short_id("0123456789abcdef") == "01234567"
    assert fmt.short_id(None) == ""
    assert fmt.short_hash("sha256:0123456789abcdef") == "0123456789ab"
    assert (
        fmt.type_name("sklearn.linear_model._logistic:LogisticRegression") == "LogisticRegression"
    )
    assert fmt.value({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'
    assert fmt.value("x" * 100, 10) == "x" * 9 + "…"
    assert fmt.first_line("\n  ValueError: boom\nmore") == "ValueError: boom"
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert fmt.seconds_between(start, start.replace(second=3)) == 3.0
    assert fmt.seconds_between(start, None) is None


def test_html_escapes_cells_but_not_raw_markup() -> None:
    out = html.table(["a"], [["<b>x</b>"], [html.Raw("<i>y</i>")]], caption="c&d")
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<i>y</i>" in out and "c&amp;d" in out
    assert "<script" not in html.fields([("k", "<script>")])


def test_sparkline_scales_between_min_and_max_and_resamples_long_series() -> None:
    assert fmt.sparkline([]) == ""
    assert fmt.sparkline(list(range(8))) == "▁▂▃▄▅▆▇█"
    assert fmt.sparkline([3.0, 3.0, 3.0]) == "▅▅▅"  # flat: the middle bar, not a crash
    long = fmt.sparkline([float(i % 100) for i in range(1000)] + [500.0], width=12)
    assert len(long) == 12 and long[-1] == "█"  # the last point is always kept
    assert fmt.sparkline([1.0, 0.0], width=1) == "█▁"  # width 1 cannot resample: all points
