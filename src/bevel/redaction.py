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

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words in every message
_secret_values: tuple[str, ...] = ()  # longest first, so a value containing another goes whole
_secret_lock = _thread.allocate_lock()


def remember_secret(value: str) -> None:
    """Mask ``value`` from now on wherever :func:`redact` is applied (this process only).

    Called with each secret value and credential when a stack is built; values shorter than
    :data:`MIN_SECRET_LENGTH` are ignored.
    """
    global _secret_values
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH or value in _secret_values:
        return
    with _secret_lock:
        _secret_values = tuple(sorted({*_secret_values, value}, key=len, reverse=True))


def _forget_secrets() -> None:
    """Forget every remembered value (the test suite does, between tests)."""
    global _secret_values
    with _secret_lock:
        _secret_values = ()


def redact(text: str) -> str:
    """``text`` with every remembered secret value replaced by ``***``."""
    for value in _secret_values:
        if value in text:
            text = text.replace(value, MASK)
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
