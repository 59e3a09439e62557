"""Rich rendering for the CLI: consoles, tables, status colors and error messages.

Tables go to stdout, errors to stderr. When stdout is not a terminal (a pipe, a file, click's
CliRunner) output is plain: no colors, no box drawing, nothing live, wide enough not to wrap.
``NO_COLOR`` is honored by rich itself. User-provided strings are wrapped in ``Text`` so that
``[brackets]`` in a run name or an error are never read as rich markup.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from bevel._text import shown_path
from bevel.cache._project import is_user_frame
from bevel.client import format as fmt
from bevel.errors import BevelError

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
_PLAIN_WIDTH = 200


def _console(*, stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    width = None if is_tty or "COLUMNS" in os.environ else _PLAIN_WIDTH
    return Console(stderr=stderr, highlight=False, width=width, soft_wrap=not is_tty)


def stdout() -> Console:
    """A console on the current ``sys.stdout`` (made at call time, so CliRunner's capture works)."""
    return _console(stderr=False)


def stderr() -> Console:
    return _console(stderr=True)


def text(value: Any, style: str = "") -> Text:
    """A literal cell: never interpreted as markup."""
    return Text("" if value is None else str(value), style=style)


def status(value: str) -> Text:
    return Text(value, style=STATUS_STYLES.get(value, ""))


def table(console: Console, *columns: str, title: str | None = None) -> Table:
    """A table that is boxed on a terminal and plain, space-separated columns in a pipe."""
    tbl = Table(
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


def add_row(tbl: Table, *values: Any) -> None:
    tbl.add_row(*(v if isinstance(v, Text) else text(v) for v in values))


def emit(console: Console, renderable: RenderableType) -> None:
    """Print a table; in plain mode without the padding rich leaves at the end of each line."""
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    console.file.write("\n".join(lines) + "\n")


def fields(console: Console, pairs: Iterable[tuple[str, Any]]) -> None:
    """A key/value block (the header of ``runs show`` and ``artifacts show``)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold" if console.is_terminal else "")
    grid.add_column()
    for key, value in pairs:
        grid.add_row(key, value if isinstance(value, Text) else text(value))
    emit(console, grid)


def mapping(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={fmt.value(v, 40)}" for k, v in values.items()) or "-"


def heading(console: Console, title: str) -> None:
    console.print()
    console.print(Text(title, style="bold underline" if console.is_terminal else ""))


def render_error(err: BevelError, console: Console | None = None) -> None:
    """Red headline (with the user's ``file:line`` when known) and a ``hint:`` line; no traceback.

    An error in the user's own code (a pipeline file that fails to import) also carries the
    user's traceback frames, printed between the two; bevel's and click's frames never are.
    """
    console = console or stderr()
    headline = f"{err.where}: {err.message}" if err.where else err.message
    console.print(Text("error: ", style="bold red") + Text(headline, style="bold red"))
    for line in getattr(err, "frames", ()):
        console.print(Text(line, style="dim" if line.startswith("  File ") else ""))
    if err.hint:
        console.print(Text("hint: ", style="yellow") + Text(err.hint))


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
        if is_user_frame(match["file"]):
            found = match
    if found is None:
        return None
    return f"{shown_path(found['file'])}:{found['line']} (in {found['func']})"
