"""Per-step capture of stdout, stderr and logging, safe with several steps in threads, and the
step log it goes to (:class:`StepLog`), which another process can follow while the step runs.

``sys.stdout``/``sys.stderr`` are swapped once for proxies that write to the current step's
capture file (a ``contextvars`` variable, so each thread/step has its own) *and* to the original
stream, so users still see their prints live.

bevel's logging handler sits on the root logger only while at least one step runs: a root logger
with a handler makes ``logging.basicConfig()`` a silent no-op, so leaving it there would break the
user's own logging setup after their first run.

No secret value reaches the terminal or a step log through here: prints are masked as they are
written (:func:`bevel.errors.redact`), and while steps run every root handler (bevel's, the
user's, the live display's) gets a filter that masks a record's message and traceback, since a
driver may log the credential it was built with.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Protocol, TextIO

from bevel import names
from bevel.artifacts.base import ArtifactStore
from bevel.redaction import redact


class Sink(Protocol):
    def write(self, text: str, /) -> int: ...


#: How often the log of a step on an object store is uploaded while the step writes (seconds).
UPLOAD_EVERY = 2.0

_SINK: ContextVar[Sink | None] = ContextVar("bevel_log_sink", default=None)
_install_lock = threading.Lock()


class _TeeStream:
    """Forwards writes to the original stream and, inside a step, to its capture file."""

    def __init__(self, original: TextIO) -> None:
        self._original = original

    def write(self, text: str) -> int:
        shown = redact(text)  # a step may print a credential its stack was built with
        sink = _SINK.get()
        if sink is not None:
            sink.write(shown)
        self._original.write(shown)
        return len(text)

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
            line = self.format(record) + "\n"  # masked by _Redactor, see _install
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


class _Redactor(logging.Filter):
    """Masks remembered secret values in a record's message and traceback, for every handler
    after it (the record is changed in place: no handler should show the value)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it in the handler
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        text = record.exc_text
        if record.exc_info and not text:  # formatted here only when it shows a value
            text = logging.Formatter().formatException(record.exc_info)
        if text and redact(text) != text:
            record.exc_text = redact(text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_redactor = _Redactor()


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
        for handler in root.handlers:
            if _redactor not in handler.filters:
                handler.addFilter(_redactor)
        step_logger = logging.getLogger("bevel.step")
        if step_logger.level == logging.NOTSET:
            step_logger.setLevel(logging.INFO)


def _uninstall() -> None:
    global _active
    with _install_lock:
        _active -= 1
        if _active == 0:
            root = logging.getLogger()
            root.removeHandler(_handler)
            for handler in root.handlers:
                handler.removeFilter(_redactor)


@contextlib.contextmanager
def capture_to(sink: Sink) -> Iterator[None]:
    """Capture prints and logging of the code run in this context into ``sink``."""
    _install()
    token = _SINK.set(sink)
    try:
        yield
    finally:
        _SINK.reset(token)
        _uninstall()


def log_path(run_id: str, step_id: str, step_run_id: str) -> str:
    """Where a step run's log lives in the artifact store (relative to its root):
    ``logs/<run id>/<step id>-<step run>.log``; a step id that is not a safe file name (compile
    refuses those, a hand-made plan may not) gets a stand-in with its hash."""
    return f"logs/{run_id}/{names.file_name(step_id, f'-{step_run_id[:8]}.log')}"


#: Tries at opening a log whose run folder another step removes meanwhile (see _open_log).
_OPEN_TRIES = 5


def _open_log(store: ArtifactStore, path: str, local: str) -> TextIO:
    """Open the log file for appending, in its run's folder, made here if needed.

    Another step of the run that ends with an empty log removes that folder when nothing else
    is in it (:meth:`StepLog._discard`); with steps in several processes that can happen
    between making the folder and opening the file (FileNotFoundError), or inside
    ``os.makedirs`` itself (FileExistsError: it saw the folder, then found it gone). Then the
    folder is made again; once the file is open the folder is no longer empty and stays."""
    for attempt in range(_OPEN_TRIES):
        try:
            store.makedirs(path.rpartition("/")[0])
            return open(local, "a", encoding="utf-8", errors="replace", newline="")
        except (FileNotFoundError, FileExistsError):
            if attempt == _OPEN_TRIES - 1:
                raise
    raise AssertionError("unreachable")


class StepLog:
    """The captured output of one step run, from its first attempt to its hooks.

    On a local artifact store every write goes straight to the log file and is flushed, so the
    file is readable (``bevel logs -f``) while the step runs and a crash keeps what was written.
    The file (and the run's log folder) is made at the first write, or when the log is published
    for a hook to write to: a step that prints nothing costs no file operation (readers take a
    missing log of a running step as empty).
    Object stores cannot append: the text is kept in memory and the whole log is uploaded again
    at most every ``every`` seconds while the step writes (by a thread started at the first
    write, so ``bevel logs -f`` follows a step on a remote worker too, a few seconds behind),
    when the step ends (:meth:`publish`), and after the hooks if they wrote more
    (:meth:`close`). Each upload holds all the text before it, so a reader that has read
    ``n`` characters reads on from ``n``.
    """

    def __init__(self, store: ArtifactStore, path: str, *, every: float = UPLOAD_EVERY) -> None:
        self._store = store
        self.path = path
        self.uri = store.uri(path)
        self.written = 0  # characters written so far
        self._published = -1  # characters uploaded (object stores); -1: never published
        local = store.local_path(path)
        self._file: TextIO | None = None
        self._buffer = io.StringIO()
        self._every = every
        self._lock = threading.Lock()  # the buffer: writes (the step's threads) and snapshots
        self._uploading = threading.Lock()  # one upload at a time, so none lands out of order
        # Ends the uploader of an object store's log; a local file has none (an Event and its
        # two sets cost ~35,000 instructions, a tenth of what a step's own log handling does).
        self._stop: threading.Event | None = threading.Event() if local is None else None
        self._uploader: threading.Thread | None = None
        self._local: str | None = local  # the file on a local store, made at the first write

    @property
    def live(self) -> bool:
        """Whether other processes can read the log while the step runs (at once from a local
        file; from an object store after the next periodic upload)."""
        return self._local is not None or self._every > 0

    def write(self, text: str) -> int:
        text = redact(text)  # a traceback or a hook may show a credential of the stack
        if self._local is not None:
            if self._file is None:
                self._file = _open_log(self._store, self.path, self._local)
            self._file.write(text)
            self._file.flush()
            self.written += len(text)
            return len(text)
        with self._lock:
            self._buffer.write(text)
            self.written += len(text)
        stop = self._stop
        if self._uploader is None and self._every > 0 and stop is not None and not stop.is_set():
            self._start_uploader()
        return len(text)

    def _start_uploader(self) -> None:
        with self._lock:
            if self._uploader is not None:
                return
            self._uploader = threading.Thread(
                target=self._upload_now_and_then, name="bevel-step-log", daemon=True
            )
        self._uploader.start()

    def _upload_now_and_then(self) -> None:
        stop = self._stop
        assert stop is not None  # started for object stores only
        while not stop.wait(self._every):
            if self.written > max(self._published, 0):
                with contextlib.suppress(Exception):  # a failed upload: the next one, or the
                    self._upload()  # final one (which does raise), writes it all

    def publish(self, *, keep: bool = False) -> str | None:
        """Make what was written so far durable; the uri to record, or None when the step wrote
        nothing (and ``keep`` is false: no hook is about to write)."""
        self._stop_uploader()  # from here the step's end uploads, and the hook's
        if not self.written and not keep:
            self._discard()
            return None
        if self._local is None:
            self._upload()
        elif self._file is None:  # nothing written yet, and a hook may write: the uri is recorded
            self._file = _open_log(self._store, self.path, self._local)
        self._published = self.written
        return self.uri

    def close(self) -> None:
        """Finish the log: close the file, or upload what the hooks added after :meth:`publish`."""
        self._stop_uploader()
        if self._file is not None:
            self._file.close()
            self._file = None
            if not self.written and self._published == -1:
                self._discard()  # never published and empty: nothing points at it
        elif self._local is None and self._published != -1 and self.written > self._published:
            self._upload()

    def _stop_uploader(self) -> None:
        if self._stop is None:  # a local file: no uploader
            return
        self._stop.set()
        if self._uploader is not None:
            self._uploader.join()

    def _upload(self) -> None:
        with self._uploading:
            with self._lock:
                text, written = self._buffer.getvalue(), self.written
            with self._store.open(self.path, "wb") as fh:
                fh.write(text.encode("utf-8", errors="replace"))
            self._published = written

    def _discard(self) -> None:
        """Remove the log file this made (a step that printed nothing made none)."""
        if self._file is None:
            return
        self._file.close()
        self._file = None
        if self._local is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._local)
            with contextlib.suppress(OSError):  # the run's log folder, when nothing else is there
                os.rmdir(os.path.dirname(self._local))
