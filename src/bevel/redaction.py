"""No secret value is ever shown: the one list of values that bevel masks wherever it shows or
records text.

Resolved secrets and credentials can reach any error text: a third-party message quoting an
endpoint URL, a config value echoed by validation, a traceback. Rather than trusting every place
that formats one, the values are remembered (process-wide, when a stack is built:
:func:`bevel.stack.secrets.remember`) and masked where bevel shows or records text: every
BevelError's message and hint (:mod:`bevel.errors`), step errors, tracebacks and logs before they
are stored or printed (:mod:`bevel.run.logs`), and the CLI's output of unexpected errors.

Below :mod:`bevel.errors` in the layers (errors uses it) and free of imports: ``import bevel``
stays cheap.
"""

from __future__ import annotations

import _thread
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import re

MASK = "***"
#: Values this long or longer are masked wherever they appear, even inside a longer word.
MASK_ANYWHERE_LENGTH = 8
#: Values shorter than :data:`MASK_ANYWHERE_LENGTH` (a password "admin", "test") are masked only
#: where they stand as a word of their own (no letter, digit or ``_`` right before or after),
#: so that they do not hide every "administrator" and "pytest" of a log; values shorter than
#: this are not masked at all (they would hide "a", "ok", "db"...).
MIN_SECRET_LENGTH = 4
_secret_values: tuple[str, ...] = ()  # longest first, so a value containing another goes whole
_anywhere: tuple[str, ...] = ()  # those masked anywhere, longest first
_as_words: re.Pattern[str] | None = (
    None  # a compiled pattern of the shorter ones, as whole words (or None)
)
_secret_lock = _thread.allocate_lock()


def masking(value: str) -> str | None:
    """How :func:`redact` treats ``value`` when it cannot mask it everywhere (a phrase for a
    warning to whoever chose it); ``None`` for a value of :data:`MASK_ANYWHERE_LENGTH` or more
    characters."""
    if len(value) >= MASK_ANYWHERE_LENGTH:
        return None
    if len(value) >= MIN_SECRET_LENGTH:
        return "it is masked in output only where it stands as a word of its own"
    return "too short to mask without hiding ordinary words, it is not masked in output"


def remember_secret(value: str) -> None:
    """Mask ``value`` from now on wherever :func:`redact` is applied (this process only).

    Called with each secret value and credential when a stack is built. How a value is masked
    depends on its length: see :data:`MASK_ANYWHERE_LENGTH` and :data:`MIN_SECRET_LENGTH`.
    """
    global _secret_values, _anywhere, _as_words
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH or value in _secret_values:
        return
    with _secret_lock:
        values = tuple(sorted({*_secret_values, value}, key=len, reverse=True))
        short = [v for v in values if len(v) < MASK_ANYWHERE_LENGTH]
        _anywhere = tuple(v for v in values if len(v) >= MASK_ANYWHERE_LENGTH)
        _as_words = _word_pattern(short) if short else None
        _secret_values = values


def _word_pattern(values: list[str]) -> re.Pattern[str]:
    import re  # only once a short secret is known: this module stays free of imports

    alternatives = "|".join(re.escape(v) for v in values)  # longest first
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _forget_secrets() -> None:
    """Forget every remembered value (the test suite does, between tests)."""
    global _secret_values, _anywhere, _as_words
    with _secret_lock:
        _secret_values, _anywhere, _as_words = (), (), None


def redact(text: str) -> str:
    """``text`` with every remembered secret value replaced by ``***`` (the shorter ones only
    where they stand as a word of their own)."""
    for value in _anywhere:
        if value in text:
            text = text.replace(value, MASK)
    words = _as_words
    if words is not None:
        text = words.sub(MASK, text)
    return text


def url_without_password(url: str) -> str:
    """``url`` for display, a password in it (``//user:pw@host``) shown as ``***``.

    Plain string work, for any scheme and for URLs no parser accepts (a bad port, a missing
    slash): everything between the user name and the last ``@`` of the authority is masked, so
    a password holding ``@`` is masked whole.
    """
    scheme, sep, rest = url.partition("//")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}//{user}:{MASK}@{host}{slash}{path}"


def holds_secret(err: BaseException | None) -> bool:
    """Whether ``err`` or an exception chained to it shows a remembered secret value (then a
    traceback would print it: raise the bevel error ``from None`` instead)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen and _secret_values:
        seen.add(id(err))
        try:
            text = f"{err} {err.args!r}"
        except Exception:  # a broken __str__ shows nothing
            text = ""
        if redact(text) != text:
            return True
        err = err.__cause__ or err.__context__
    return False
