"""The one list of secret values that no error, log or record shows (bevel.redaction.redact)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from bevel.errors import StackError, StepFailed
from bevel.redaction import holds_secret, masking, redact, remember_secret
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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # under 8 characters: only where the value stands as a word of its own
        ("user admin logged in", "user *** logged in"),
        ("the administrator ran pytest on tests/", "the administrator ran pytest on tests/"),
        ("postgresql://admin:test@h/db", "postgresql://***:***@h/db"),
        ("password=test, user='admin'", "password=***, user='***'"),
        ("admin_user test2 xtest", "admin_user test2 xtest"),  # _ and digits join a word
        ("(test) [admin]", "(***) [***]"),
        # 8 characters or more: everywhere, also inside a longer word
        ("token=Zx9-long-value!", "token=***!"),
        ("prefixZx9-long-valuesuffix", "prefix***suffix"),
    ],
)
def test_short_values_are_masked_as_words_long_values_everywhere(text: str, shown: str) -> None:
    for value in ("admin", "test", "Zx9-long-value"):
        remember_secret(value)
    assert redact(text) == shown


def test_masking_says_how_a_value_is_masked() -> None:
    assert masking("Zx9-long") is None  # 8 characters: everywhere
    assert masking("admin") == "it is masked in output only where it stands as a word of its own"
    assert masking("ab") == (
        "too short to mask without hiding ordinary words, it is not masked in output"
    )


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
