"""Per-step capture of stdout, stderr and logging, safe with several steps in threads.

``sys.stdout``/``sys.stderr`` are swapped once for proxies that write to the current step's
capture file (a ``contextvars`` variable, so each thread/step has its own) *and* to the original
stream, so users still see their prints live.

bevel's logging handler sits on the root logger only while at least one step runs: a root logger
with a handler makes ``logging.basicConfig()`` a silent no-op, so leaving it there would break the
user's own logging setup after their first run.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO, Any, TextIO

_SINK: ContextVar[IO[str] | None] = ContextVar("bevel_log_sink", default=None)
_install_lock = threading.Lock()


class _TeeStream:
    """Forwards writes to the original stream and, inside a step, to its capture file."""

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        sink = _SINK.get()
        if sink is not None:
            sink.write(text)
        return self._original.write(text)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _SinkHandler(logging.Handler):
    """Sends log records emitted while a step runs to that step's capture file."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _SINK.get()
        handlers = logging.getLogger().handlers
        alone = handlers == [self]
        if sink is not None and _teed_elsewhere(handlers, record):
            sink = None  # a handler of the user's writes it to a captured stream already
        if sink is None and not (alone and record.levelno >= logging.WARNING):
            return
        try:
            line = self.format(record) + "\n"
            if sink is not None:
                sink.write(line)
            if alone:  # nobody else prints logs: behave like logging's last-resort handler
                sys.__stderr__.write(line) if sys.__stderr__ else None
        except Exception:  # logging must never break the step
            self.handleError(record)


def _teed_elsewhere(handlers: list[logging.Handler], record: logging.LogRecord) -> bool:
    """Whether another root handler prints ``record`` to a captured (teed) stream."""
    return any(
        h is not _handler
        and isinstance(getattr(h, "stream", None), _TeeStream)
        and record.levelno >= h.level
        for h in handlers
    )


#: How step log records are written (to the step's log, and to the terminal when nobody else
#: prints them): also used by the CLI's live display for the records it routes.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_handler = _SinkHandler()
_handler.setFormatter(logging.Formatter(LOG_FORMAT))


_active = 0  # steps capturing right now (in any thread); guarded by _install_lock


def _install() -> None:
    global _active
    with _install_lock:
        if not isinstance(sys.stdout, _TeeStream):
            sys.stdout = _TeeStream(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _TeeStream):
            sys.stderr = _TeeStream(sys.stderr)  # type: ignore[assignment]
        _active += 1
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)
        step_logger = logging.getLogger("bevel.step")
        if step_logger.level == logging.NOTSET:
            step_logger.setLevel(logging.INFO)


def _uninstall() -> None:
    global _active
    with _install_lock:
        _active -= 1
        if _active == 0:
            logging.getLogger().removeHandler(_handler)


@contextlib.contextmanager
def capture_to(sink: IO[str]) -> Iterator[None]:
    """Capture prints and logging of the code run in this context into ``sink``."""
    _install()
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)
        _uninstall()
