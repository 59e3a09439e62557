"""``bevel.run.interrupts.deferred``: Ctrl-C and SIGTERM held back for a short stretch of
bookkeeping, then delivered as they would have been (the engine relies on it, see
tests/core/test_engine.py)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from bevel.run.heartbeat import sigterm_as_interrupt
from bevel.run.interrupts import Terminated, deferred


@pytest.fixture(autouse=True)
def _handlers_restored() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here, as in a terminal, even where the suite runs with
    SIGINT ignored (a background job); every test leaves the handlers as they were."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == before[signal.SIGTERM]
    signal.signal(signal.SIGINT, before[signal.SIGINT])


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job's
    try:
        with deferred():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # nothing raised, as before
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_ctrl_c_inside_the_block_is_raised_when_it_ends() -> None:
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with deferred():
            signal.raise_signal(signal.SIGINT)
            done.append("first")  # not interrupted half-way
            done.append("second")
        done.append("after")  # never reached: the interrupt comes as the block ends
    assert done == ["first", "second"]


def test_sigterm_inside_the_block_reaches_the_handler_in_place() -> None:
    with sigterm_as_interrupt(), pytest.raises(Terminated) as caught, deferred():
        signal.raise_signal(signal.SIGTERM)
    assert caught.value.signal_name == "SIGTERM"


def test_two_signals_in_the_block_are_each_delivered() -> None:
    heard: list[int] = []

    def note(signum: int, frame: object) -> None:
        heard.append(signum)

    previous = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with deferred():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGTERM)
            assert heard == []
        assert heard == [signal.SIGTERM, signal.SIGINT]
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def test_nothing_held_without_a_signal_and_outside_the_main_thread() -> None:
    with deferred():
        pass
    seen: list[object] = []

    def worker() -> None:
        with deferred():  # no handler can be installed here: it must not try
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGINT)]
