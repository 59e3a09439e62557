"""The one list of secret values that no error, log or record shows (bevel.redaction.redact)."""

from __future__ import annotations

from urllib.parse import quote

from bevel.errors import StackError, StepFailed
from bevel.redaction import holds_secret, redact, remember_secret
from bevel.stack.secrets import remember

VALUE = "redact-Me/+value"


def test_remembered_values_are_masked_in_every_bevel_error() -> None:
    before = StackError(f"endpoint http://host/{VALUE}")
    remember_secret(VALUE)
    err = StackError(f"endpoint http://host/{VALUE}", hint=f"check {VALUE}")
    assert (err.message, err.hint) == ("endpoint http://host/***", "check ***")
    assert VALUE not in str(err) and VALUE not in repr(err.args)
    assert VALUE in before.message  # made before the value was known: nothing to hide then
    failed = StepFailed("boom", step="s", traceback=f"Traceback ...\nValueError: {VALUE}")
    assert failed.traceback == "Traceback ...\nValueError: ***"


def test_longer_values_first_and_short_values_ignored() -> None:
    remember_secret("abcd")
    remember_secret("abcdefgh")
    assert redact("x abcdefgh y abcd") == "x *** y ***"
    remember_secret("abc")  # three characters would mask ordinary words
    assert redact("abc") == "abc"


def test_values_are_masked_as_they_appear_in_urls_too() -> None:
    remember(VALUE)
    assert redact(f"postgresql://u:{quote(VALUE, safe='')}@h/db") == "postgresql://u:***@h/db"


def test_holds_secret_looks_along_the_chain() -> None:
    remember_secret(VALUE)
    try:
        try:
            raise ConnectionError(f"could not reach http://h/{VALUE}")
        except ConnectionError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert holds_secret(outer)
    assert not holds_secret(RuntimeError("nothing here"))
    assert not holds_secret(None)
