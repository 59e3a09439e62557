"""Rich rendering for the CLI: consoles, tables, status colors and error messages.

Tables go to stdout, errors to stderr. When stdout is not a terminal (a pipe, a file, click's
CliRunner) output is plain: no colors, no box drawing, nothing live, wide enough not to wrap.
``NO_COLOR`` is honored by rich itself. User-provided strings are wrapped in ``Text`` so that
``[brackets]`` in a run name or an error are never read as rich markup.

rich is imported only when something is rendered with it. The read commands (``bevel runs
list/show``) print through a :class:`Screen`, which writes plain output itself
(:mod:`bevel.cli.plain`, the same characters rich would print) and hands everything else to rich.
"""

from __future__ import annotations

import builtins
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO, overload

from bevel._lazy import lazy_module
from bevel._text import shown_path
from bevel.cli import plain
from bevel.cli.plain import Styled
from bevel.client import format as fmt
from bevel.errors import BevelError

if TYPE_CHECKING:
    from rich import box
    from rich import console as rich_console
    from rich import table as rich_table
    from rich import text as rich_text
    from rich.console import Console, RenderableType
    from rich.table import Table
    from rich.text import Text

    from bevel.cache import _project
else:  # rich loads when something is rendered with it: plain output never needs it
    box = lazy_module("rich.box")
    rich_console = lazy_module("rich.console")
    rich_table = lazy_module("rich.table")
    rich_text = lazy_module("rich.text")
    _project = lazy_module("bevel.cache._project")  # which frames are the user's: failures only

STATUS_STYLES = {
    "completed": "green",
    "cached": "cyan",
    "failed": "bold red",
    "running": "yellow",
    "cancelled": "magenta",
    "skipped": "dim",
}
STATUS_ICONS = {
    "completed": "✓",
    "cached": "↺",
    "failed": "✗",
    "running": "…",
    "cancelled": "■",
    "skipped": "-",
}
_PLAIN_WIDTH = plain.PLAIN_WIDTH


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    width = None if is_tty or "COLUMNS" in os.environ else _PLAIN_WIDTH
    return rich_console.Console(stderr=stderr, highlight=False, width=width, soft_wrap=not is_tty)


def _surely_plain(stream: TextIO) -> bool:
    """Whether rich would print plainly to ``stream``, known without importing rich: not a
    terminal, and none of what makes rich decide otherwise (``FORCE_COLOR``, ``TTY_COMPATIBLE``,
    a notebook) or measure another width (``COLUMNS``)."""
    if any(name in os.environ for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS")):
        return False
    if hasattr(builtins, "get_ipython"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is None or not isatty()
    except ValueError:  # a closed stream: rich says "not a terminal" too
        return True


class Screen:
    """Where a read command prints: :mod:`bevel.cli.plain` objects (``Styled`` text, tables)
    written as plain text when the stream surely is not a terminal, through rich otherwise.

    Made at call time on the current ``sys.stdout``/``sys.stderr``, so CliRunner's capture works.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self.file: TextIO = sys.stderr if stderr else sys.stdout
        self.plain = _surely_plain(self.file)
        self._rich: Console | None = None

    @property
    def rich(self) -> Console:
        """The rich console this screen prints through when it is not plain."""
        if self._rich is None:
            self._rich = _console(stderr=self._stderr)
        return self._rich

    @property
    def is_terminal(self) -> bool:
        return not self.plain and self.rich.is_terminal

    def print(self, item: Styled | Sequence[Styled] | plain.Table | str | None = None) -> None:
        """One line of text (a string, a ``Styled`` piece, or a line of pieces styled each
        their own way), or a table; no argument: an empty line."""
        if self.plain:
            if item is None:
                done: str | None = "\n"
            elif isinstance(item, plain.Table):
                done = plain.render_table(item)
            elif isinstance(item, str):
                done = plain.render_text(item)
            elif isinstance(item, Styled):
                done = plain.render_text(item.text)
            else:
                done = plain.render_text("".join(piece.text for piece in item))
            if done is not None:
                self.file.write(done)
                return
        print_to(self.rich, item)


def print_to(console: Console, item: Styled | Sequence[Styled] | plain.Table | str | None) -> None:
    """What :meth:`Screen.print` prints, through a rich console."""
    if item is None:
        console.print()
    elif isinstance(item, plain.Table):
        emit(console, _rich_table(console, item))
    elif isinstance(item, str | Styled):
        console.print(_as_text(item))
    else:
        console.print(rich_text.Text.assemble(*((piece.text, piece.style) for piece in item)))


def screen(*, stderr: bool = False) -> Screen:
    return Screen(stderr=stderr)


def stdout() -> Console:
    """A console on the current ``sys.stdout`` (made at call time, so CliRunner's capture works)."""
    return _console(stderr=False)


def stderr() -> Console:
    return _console(stderr=True)


def text(value: Any, style: str = "") -> Text:
    """A literal cell: never interpreted as markup."""
    return rich_text.Text("" if value is None else str(value), style=style)


def status(value: str) -> Text:
    return rich_text.Text(value, style=STATUS_STYLES.get(value, ""))


def styled(value: Any, style: str = "") -> Styled:
    """A literal cell or line for a :class:`Screen` (rich's ``Text`` without rich)."""
    return Styled("" if value is None else str(value), style)


def styled_status(value: str) -> Styled:
    return Styled(value, STATUS_STYLES.get(value, ""))


def _as_text(value: Any) -> Text:
    if isinstance(value, Styled):
        return rich_text.Text(value.text, style=value.style)
    if isinstance(value, rich_text.Text):
        return value
    return text(value)


def _rich_table(console: Console, source: plain.Table) -> Table:
    if source.grid:
        return _grid(console, [(row[0].text, row[1]) for row in source.rows])
    tbl = table(console, *source.columns, title=source.title)
    for row in source.rows:
        add_row(tbl, *row)
    return tbl


@overload
def table(console: Screen, *columns: str, title: str | None = None) -> plain.Table: ...
@overload
def table(console: Console, *columns: str, title: str | None = None) -> Table: ...
def table(
    console: Console | Screen, *columns: str, title: str | None = None
) -> Table | plain.Table:
    """A table that is boxed on a terminal and plain, space-separated columns in a pipe."""
    if isinstance(console, Screen):
        return plain.Table(*columns, title=title)
    tbl = rich_table.Table(
        *columns,
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD if console.is_terminal else None,
        show_edge=False,
        pad_edge=False,
        header_style="bold" if console.is_terminal else "",
        title_style="bold" if console.is_terminal else "",
    )
    return tbl


def add_row(tbl: Table | plain.Table, *values: Any) -> None:
    if isinstance(tbl, plain.Table):
        tbl.add_row(*(v if isinstance(v, Styled) else styled(v) for v in values))
        return
    tbl.add_row(*(_as_text(v) for v in values))


@overload
def emit(console: Screen, renderable: plain.Table) -> None: ...
@overload
def emit(console: Console, renderable: RenderableType) -> None: ...
def emit(console: Console | Screen, renderable: Any) -> None:
    """Print a table; in plain mode without the padding rich leaves at the end of each line."""
    if isinstance(console, Screen):
        console.print(renderable)
        return
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    console.file.write("\n".join(lines) + "\n")


def fields(console: Console | Screen, pairs: Iterable[tuple[str, Any]]) -> None:
    """A key/value block (the header of ``runs show`` and ``artifacts show``)."""
    if isinstance(console, Screen):
        block = plain.Table("", "", grid=True)
        for key, value in pairs:
            block.add_row(Styled(key), value if isinstance(value, Styled) else styled(value))
        console.print(block)
        return
    emit(console, _grid(console, pairs))


def _grid(console: Console, pairs: Iterable[tuple[str, Any]]) -> Table:
    grid = rich_table.Table.grid(padding=(0, 2))
    grid.add_column(style="bold" if console.is_terminal else "")
    grid.add_column()
    for key, value in pairs:
        grid.add_row(key, _as_text(value))
    return grid


def mapping(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={fmt.value(v, 40)}" for k, v in values.items()) or "-"


def heading(console: Console | Screen, title: str) -> None:
    console.print()
    style = "bold underline" if console.is_terminal else ""
    if isinstance(console, Screen):
        console.print(Styled(title, style))
    else:
        console.print(rich_text.Text(title, style=style))


def render_error(err: BevelError, console: Console | None = None) -> None:
    """Red headline (with the user's ``file:line`` when known) and a ``hint:`` line; no traceback.

    An error in the user's own code (a pipeline file that fails to import) also carries the
    user's traceback frames, printed between the two; bevel's and click's frames never are.
    """
    console = console or stderr()
    headline = f"{err.where}: {err.message}" if err.where else err.message
    console.print(
        rich_text.Text("error: ", style="bold red") + rich_text.Text(headline, style="bold red")
    )
    for line in getattr(err, "frames", ()):
        console.print(rich_text.Text(line, style="dim" if line.startswith("  File ") else ""))
    if err.hint:
        console.print(rich_text.Text("hint: ", style="yellow") + rich_text.Text(err.hint))


_HINT_MARK = "\n  hint: "  # how BevelError.__str__ appends its hint (what a step run records)
_FRAME = re.compile(r'^  File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$', re.M)


def error_parts(text: str | None) -> tuple[str, str | None]:
    """A recorded error as (headline, hint): ``"x.py:3: bad value\n  hint: use 1"`` ->
    ``("x.py:3: bad value", "use 1")``. Errors that are not bevel's have no hint."""
    if not text:
        return "", None
    body, mark, hint = text.partition(_HINT_MARK)
    return fmt.first_line(body), (hint.strip() or None) if mark else None


def user_location(traceback_text: str | None) -> str | None:
    """``"pipe.py:14 (in train)"``: the innermost frame of the user's own code in a recorded
    traceback, or None when the error came from bevel or a library (no user frame)."""
    found = None
    for match in _FRAME.finditer(traceback_text or ""):
        if _project.is_user_frame(match["file"]):
            found = match
    if found is None:
        return None
    return f"{shown_path(found['file'])}:{found['line']} (in {found['func']})"
