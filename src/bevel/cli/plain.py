"""What the CLI prints when stdout is not a terminal, rendered without rich.

A command's output piped to a file, ``grep`` or a script is plain text: no colours, no boxes,
columns separated by two spaces. rich renders exactly that, but importing and running it is most
of what a small command costs (``bevel runs list`` spent more time in rich than in its query).
So the read commands build their tables and lines from the small objects here, and
:class:`bevel.cli.output.Screen` prints them: as this module renders them when the output is
plain, through rich on a terminal (colours, boxes, wrapping to the terminal's width).

The plain rendering is rich's, character for character (``tests/cli`` compares the two over many
tables): each column as wide as its widest cell, cells padded with spaces, two spaces between
columns, trailing spaces dropped. Where only rich knows the answer (text that is not printable
ASCII, whose width needs rich's tables of character widths; a table wider than the page, which
rich wraps; a title wider than its table; a column name with markup), the render functions say
so by returning ``None`` and the caller lets rich print it.
"""

from __future__ import annotations

#: The page width of plain output (what :func:`bevel.cli.output.stdout` gives rich).
PLAIN_WIDTH = 200


class Styled:
    """A piece of text and the rich style it has on a terminal (``"bold red"``); never markup."""

    __slots__ = ("style", "text")

    def __init__(self, text: str, style: str = "") -> None:
        self.text = text
        self.style = style

    def __repr__(self) -> str:
        return f"Styled({self.text!r}, {self.style!r})"


class Table:
    """Columns and rows of :class:`Styled` cells. ``grid`` is a header-less key/value block
    (``runs show``'s header); a table has a header row and an optional title above it."""

    __slots__ = ("columns", "grid", "rows", "title")

    def __init__(self, *columns: str, title: str | None = None, grid: bool = False) -> None:
        self.columns = list(columns)
        self.title = title
        self.grid = grid
        self.rows: list[list[Styled]] = []

    def add_row(self, *cells: Styled) -> None:
        self.rows.append(list(cells))


def _printable(text: str) -> bool:
    """Text whose width is its length and that rich prints as it is."""
    return text.isascii() and text.isprintable()


def render_text(text: str) -> str | None:
    """A line (or lines) of text as printed, or None when rich must print it.

    Unlike a table cell, a line may hold any printable character (a step's ``✓``, a name in
    another script): a plain console does not wrap lines (``soft_wrap``), so their widths never
    matter, and rich prints them unchanged. Control characters (a tab, which rich expands) go
    to rich."""
    lines = text.split("\n")
    if not all(line.isprintable() for line in lines):
        return None
    return text + "\n"


def render_table(table: Table, width: int = PLAIN_WIDTH) -> str | None:
    """The table as rich prints it in plain mode (trailing spaces dropped), or None when only
    rich can render it exactly."""
    if table.grid and not table.rows:
        return None
    header = [] if table.grid else [table.columns]
    rows = [*header, *([cell.text for cell in row] for row in table.rows)]
    count = len(table.columns)
    if any(len(row) != count for row in rows):
        return None
    if not all(_printable(cell) for row in rows for cell in row):
        return None
    if any("[" in name for name in table.columns):  # rich reads column names as markup
        return None
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(count)]
    total = sum(widths) + 2 * (count - 1)
    if total > width or (table.title is not None and not _fits_title(table.title, total)):
        return None
    lines = [table.title] if table.title is not None else []
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def _fits_title(title: str, table_width: int) -> bool:
    return _printable(title) and 0 < len(title) <= table_width
