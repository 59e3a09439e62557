"""Plain output without rich: what `bevel runs list/show` print to a pipe is what rich prints.

The read commands render their tables themselves when stdout is not a terminal
(:mod:`bevel.cli.plain`); these tests hold that rendering to rich's, character for character,
over many tables, and check the cases it hands back to rich.
"""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from bevel.cli import output, plain
from bevel.cli.output import Screen
from bevel.cli.plain import Styled

WORDS = ["", "a", "id", "chain", "completed", "n=10, lr=0.1", "x" * 37, "  padded ", "[bold]x[/]"]


def _rich_plain(build: object) -> str:
    """What the CLI printed through rich before: a plain console on a pipe, then emit()."""
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, width=plain.PLAIN_WIDTH, soft_wrap=True)
    if isinstance(build, plain.Table) and build.grid:
        output.fields(console, [(row[0].text, row[1]) for row in build.rows])
    elif isinstance(build, plain.Table):
        tbl = output.table(console, *build.columns, title=build.title)
        for row in build.rows:
            output.add_row(tbl, *row)
        output.emit(console, tbl)
    return buffer.getvalue()


def _piped_screen(monkeypatch: pytest.MonkeyPatch) -> tuple[io.StringIO, Screen]:
    """A Screen on a captured stdout that is not a terminal: it prints plainly."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    monkeypatch.delenv("COLUMNS", raising=False)
    screen = Screen()
    assert screen.plain
    return stream, screen


def _random_table(rng: random.Random) -> plain.Table:
    columns = [rng.choice(WORDS[1:-1]) for _ in range(rng.randint(1, 7))]  # names: no markup
    grid = rng.random() < 0.3 and len(columns) == 2  # runs show's header block: no title
    title = None if grid else rng.choice([None, None, "steps", "outputs of the run"])
    tbl = plain.Table(*columns, title=title, grid=grid)
    for _ in range(rng.randint(0 if not tbl.grid else 1, 8)):
        tbl.add_row(*(Styled(rng.choice(WORDS), rng.choice(["", "red", "bold"])) for _ in columns))
    return tbl


@pytest.mark.parametrize("seed", range(60))
def test_a_plain_table_is_what_rich_prints(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tbl = _random_table(random.Random(seed))
    rendered = plain.render_table(tbl)
    cells = [tbl.columns, *([c.text for c in row] for row in tbl.rows)]
    width = sum(max(len(r[i]) for r in cells) for i in range(len(tbl.columns)))
    if tbl.title is None and width + 2 * (len(tbl.columns) - 1) <= plain.PLAIN_WIDTH:
        assert rendered is not None  # only wider tables and titles go back to rich
    if rendered is not None:
        assert rendered == _rich_plain(tbl)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    monkeypatch.delenv("COLUMNS", raising=False)
    Screen().print(tbl)
    assert stream.getvalue() == _rich_plain(tbl)


@pytest.mark.parametrize(
    "cell",
    ["naïve", "日本語", "tab\there", "two\nlines", "x" * 250],
)
def test_what_only_rich_can_render_is_left_to_rich_and_printed_as_before(
    cell: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wide characters, control characters and tables wider than the page fall back to rich,
    which prints them exactly as the commands did before."""
    tbl = plain.Table("name", "value")
    tbl.add_row(Styled("a"), Styled(cell))
    assert plain.render_table(tbl) is None
    stream, screen = _piped_screen(monkeypatch)
    screen.print(tbl)
    assert stream.getvalue() == _rich_plain(tbl)


def test_a_title_wider_than_its_table_is_left_to_rich() -> None:
    tbl = plain.Table("a", title="a title longer than the table")
    tbl.add_row(Styled("x"))
    assert plain.render_table(tbl) is None


@pytest.mark.parametrize("env", ["FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"])
def test_a_screen_leaves_to_rich_what_rich_would_decide_otherwise(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setenv(env, "1" if env != "COLUMNS" else "80")
    assert not Screen().plain


def test_lines_print_as_rich_prints_them(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    monkeypatch.delenv("COLUMNS", raising=False)
    screen = Screen()
    output.heading(screen, "steps")
    screen.print(Styled("Traceback (most recent call last):\n  File 'x.py'", "red"))
    screen.print("[bold]not markup[/bold]")
    expected = io.StringIO()
    console = Console(file=expected, highlight=False, width=plain.PLAIN_WIDTH, soft_wrap=True)
    output.heading(console, "steps")
    console.print(output.text("Traceback (most recent call last):\n  File 'x.py'", "red"))
    console.print(output.text("[bold]not markup[/bold]"))
    assert stream.getvalue() == expected.getvalue()


@pytest.mark.parametrize(
    "line",
    [
        [Styled("✓ ", "green"), Styled("train  "), Styled("completed", "green"), Styled("  1.2s")],
        [Styled("↺ load  cached"), Styled("  (from 1a2b3c4d)", "dim")],
        [Styled("日本語のステップ " * 40)],  # wider than the page: a plain console does not wrap
        [Styled("e\u0301 naïve [bold]not markup[/bold] :smile:")],
        [Styled("tab\there")],  # a control character: rich expands it, so rich prints it
        [Styled("")],
    ],
)
def test_a_line_of_styled_pieces_prints_as_rich_prints_it(
    line: list[Styled], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bevel run`'s step lines and summary in a pipe: any printable text, written without rich,
    is what rich writes."""
    stream, screen = _piped_screen(monkeypatch)
    screen.print(line)
    expected = io.StringIO()
    console = Console(file=expected, highlight=False, width=plain.PLAIN_WIDTH, soft_wrap=True)
    output.print_to(console, line)
    assert stream.getvalue() == expected.getvalue()
    joined = "".join(piece.text for piece in line)
    assert (plain.render_text(joined) is None) == ("\t" in joined)
