"""Names that users give bevel (runs, pipelines, steps, outputs): one rule, checked once.

Names end up in file names (a step's log is ``logs/<run id>/<step id>-<id>.log``), in artifact
names (``<pipeline>.<step id>.<output>``), in ``VARCHAR(255)`` columns and on screens. So a
name is checked when it enters bevel, the same way whatever the metadata database (SQLite
accepts any length and NUL characters, PostgreSQL and MariaDB do not):

- 1 to :data:`MAX_NAME` characters (run names: 1 to :data:`MAX_RUN_NAME`), so that an artifact
  name made of three names still fits the database's 255 characters;
- no path separator (``/`` or ``\\``), and not ``.`` or ``..``;
- no control or invisible formatting character (NUL, newline, tab, bidirectional overrides...);
- no space at either end.

Anything else is allowed, Unicode letters and punctuation included (``train-v2``, ``modèle``,
``nightly 2024-01-01``). Errors name the kind, show the name (shortened, with its invisible
characters escaped), say where it came from and what is allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_module
from bevel.errors import BevelError, ConfigError

if TYPE_CHECKING:
    import hashlib
    import unicodedata
else:  # only a name too long to store is hashed; loading OpenSSL costs ~4 ms (bevel runs list)
    hashlib = lazy_module("hashlib")
    unicodedata = lazy_module("unicodedata")  # only a name that is not printable ASCII

MAX_NAME = 80  # pipeline, step and output names: 3 x 80 + 2 dots < 255
MAX_RUN_NAME = 255  # the metadata column
_SEPARATORS = ("/", "\\")
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))  # control, format, surrogate, line breaks
RULE = (
    "names are 1 to {limit} characters, without '/' or '\\', control or invisible characters, "
    "or spaces at either end (e.g. 'train_model', 'nightly-2024-01-01')"
)


def problem(name: object, *, limit: int = MAX_NAME) -> str | None:
    """What is wrong with ``name`` (a short phrase), or None when it is a good name."""
    if not isinstance(name, str):
        return f"it is {type(name).__name__}, not text"
    if not name:
        return "it is empty"
    if len(name) > limit:
        return f"it is {len(name)} characters long (at most {limit})"
    if name in (".", ".."):
        return f"{name!r} is not a name"
    plain = name.isascii() and name.isprintable()  # no control character: nothing to look up
    if not plain or "/" in name or "\\" in name:  # else no character needs a look (per write)
        for char in name:
            if char in _SEPARATORS:
                return f"it contains the path separator {char!r}"
            if not plain and unicodedata.category(char) in _INVISIBLE:
                return f"it contains the control character U+{ord(char):04X}"
    if name != name.strip():
        return "it starts or ends with a space"
    return None


def shown(name: object, width: int = 40) -> str:
    """``name`` fit for an error message: quoted, escaped, and shortened when long."""
    if not isinstance(name, str):
        return repr(name)
    if len(name) <= width:
        return repr(name)
    return f"{name[:width]!r}... ({len(name)} characters)"


def check(
    kind: str,
    name: object,
    *,
    source: str = "",
    limit: int = MAX_NAME,
    where: str | None = None,
    hint: str = "",
    error: type[BevelError] = ConfigError,
) -> str:
    """Return ``name`` if it is good; else raise ``error`` naming ``kind`` (e.g. ``"step id"``),
    the name, ``source`` (where it came from, e.g. ``"given to --name"``) and the rule.

    ``hint`` says how to change it (``"give it another id: .with_options(id=...)"``); the rule
    is added to it.
    """
    wrong = problem(name, limit=limit)
    if wrong is None:
        assert isinstance(name, str)
        return name
    origin = f" ({source})" if source else ""
    rule = RULE.format(limit=limit)
    raise error(
        f"invalid {kind} {shown(name)}{origin}: {wrong}",
        hint=f"{hint}; {rule}" if hint else rule,
        where=where,
    )


def file_name(name: str, suffix: str) -> str:
    """A file name made of ``name`` and ``suffix`` that is safe on every filesystem: ``name`` as
    it is when it is a good name short enough in bytes, else a readable stand-in with its hash.

    Names are checked before they get here; this is the last guard where one becomes a path.
    """
    encoded = name.encode("utf-8", errors="surrogatepass")
    if problem(name) is None and len(encoded) + len(suffix.encode()) <= 200:
        return name + suffix
    digest = hashlib.sha256(encoded).hexdigest()[:12]
    readable = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]
    return f"{readable}-{digest}{suffix}"
