"""bevel's one exception tree.

Every error bevel raises on purpose derives from :class:`BevelError`. Known errors carry a
headline (``str(err)``), an optional *hint* saying how to fix it, and, for errors in user code,
the file and line they point at. The CLI prints known errors as headline + hint without a
traceback; anything else is a bug and is printed with its traceback.

```
BevelError
├── ConfigError                  bad run config / settings / CLI input (names the key and file)
│   └── ParameterError           a pipeline/step parameter that is unknown, missing or not JSON
├── DefinitionError              a @step / @pipeline that cannot be compiled (file:line + hint)
│   ├── MaterializerNotFound     no materializer registered for an output type
│   └── PipelineFileError        the pipeline file fails to import (its own error, user frames)
├── StackError                   a stack or component that cannot be built or used
│   ├── ArtifactStoreUnavailable ᵀ  the artifact store's service cannot be reached right now
│   └── ComponentUnavailable ᵀ   another component's service (an MLflow server) cannot be reached
├── ArtifactError                an artifact that cannot be saved or loaded
│   ├── ArtifactCorrupted        bytes on disk no longer match the recorded content hash
│   └── ArtifactMissing          the artifact's files are gone
├── MetadataError                the metadata store cannot be used
│   ├── DatabaseUnavailable ᵀ    the database cannot be reached right now (restart, network, lock)
│   ├── MetadataCorrupted        the database file is damaged (restore it; bevel doctor checks)
│   ├── SchemaTooNew             the database was written by a newer bevel
│   ├── NotFound                 no run / step / artifact / pipeline with that id or name
│   │   └── CacheHitLost         a cache hit's records were deleted before the reuse was recorded
│   ├── StatusConflict           a status change refused: the run or step run already ended
│   ├── AccessDenied             a bevel server refused the API key (401) or the role (403)
│   └── ServerUnavailable ᵀ      a bevel server cannot be reached right now, or is overloaded
├── StepFailed                   a step raised (wraps the user's exception as __cause__)
│   └── OutputTypeError          a step returned something that does not match its annotation
├── StepInterrupted              the orchestrator stopped a step, not the step's own code
│   ├── WorkerLost               the process or Dask worker running the step died
│   └── StepTimedOut             the step ran past its @step(timeout=...)
├── DataError                    data that cannot be profiled, validated or compared
│   └── DataValidationFailed     validate(..., on_anomaly="fail") found anomalies
├── ModelError                   a model operation that cannot be done (no metric to compare)
├── TrialPruned                  raised in a sweep's trial that its pruner stopped (not a failure)
├── RunFailed                    a run ended failed (names the failed steps)
├── RunCancelled                 the run was cancelled from another process (bevel runs cancel)
└── TransientError               ᵀ it may pass by itself: retrying can help (kind: network,
                                   timeout, throttled, busy); step retries retry these
BevelWarning (Warning)           things that work but deserve attention
```

A run that is interrupted (Ctrl-C, SIGTERM) is recorded as cancelled and re-raises
``KeyboardInterrupt`` (``Terminated`` for a signal), not a bevel error: callers that catch
``Exception`` must not swallow an interrupt. A run cancelled from elsewhere (``bevel runs
cancel``) interrupted nothing in the caller's process: ``run_pipeline`` raises ``RunCancelled``.

The tree is also grouped by what the caller can do, as httpx groups its transport errors:
*transient* errors (``TransientError``, marked ᵀ; they are also in their component's branch, so
``except StackError`` still sees an unreachable artifact store) may pass if the same operation
is tried again; every other error is *permanent*: fix the input (``ConfigError``), the code
(``DefinitionError``), the configuration (``StackError``), or repair the data
(``ArtifactCorrupted``, ``ArtifactMissing``, ``MetadataCorrupted``). Third-party failures are sorted the same way by
:func:`transient_kind`, which is how a guarded artifact store, the SQL store and step retries
decide.

No error shows a secret: once a stack is built, the values of its secrets and credentials are
remembered (:func:`bevel.redaction.remember_secret`) and every BevelError's message and hint is
masked with :func:`bevel.redaction.redact`, whatever field or third-party message the value came
through.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

from bevel.redaction import redact


class BevelError(Exception):
    """Base of every error bevel raises on purpose.

    ``hint`` says how to fix it; ``where`` is ``"file.py:12"`` when the error points at user code.
    """

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
        message = redact(message)  # no secret value is ever shown: see remember_secret
        hint = None if hint is None else redact(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable whatever the subclass's keyword-only arguments: errors cross process
        # boundaries (a step on a worker process or a Dask worker reports them to the driver).
        return (_rebuild, (type(self), self.message, dict(vars(self))))


def _rebuild(cls: type[BevelError], message: str, state: dict[str, object]) -> BevelError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class TransientError(BevelError):
    """A failure that may pass by itself: the same operation, tried again, can succeed.

    ``kind`` says which, as httpx's transport errors do: ``"network"`` (a connection refused or
    dropped, a server restarting), ``"timeout"``, ``"throttled"`` (the service asked to slow
    down: HTTP 429/503, S3's SlowDown, too many connections) or ``"busy"`` (a lock or a
    deadlock that outlasted bevel's own waiting). Step retries (``@step(retries=N)``) retry
    these; every other bevel error is permanent: fix the input, the code or the configuration,
    or repair the data. :func:`transient_kind` recognises third-party errors of these kinds.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "network",
        hint: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.kind = kind


class ConfigError(BevelError):
    """Bad run configuration, settings or command-line input."""


class ParameterError(ConfigError):
    """A pipeline or step parameter that is unknown, missing or not JSON-serialisable."""


class DefinitionError(BevelError):
    """A step or pipeline definition that cannot be compiled into a plan."""


class MaterializerNotFound(DefinitionError):
    """No materializer is registered for a type that a step outputs."""


class PipelineFileError(DefinitionError):
    """The file given to ``bevel run`` or ``load_pipeline`` raised while being imported.

    A SyntaxError, a missing module or any exception at import time is the user's error, not
    bevel's: ``frames`` holds the traceback lines of the user's own code only (no bevel, click
    or importlib frames), ready to print between the headline and the hint.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        where: str | None = None,
        frames: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.frames = frames


class StackError(BevelError):
    """A stack or a stack component that cannot be built or used."""


class ArtifactStoreUnavailable(StackError, TransientError):
    """The artifact store's service cannot be reached right now (network, timeout, throttling)."""


class ComponentUnavailable(StackError, TransientError):
    """A stack component's service (an experiment tracker's or model registry's server) cannot
    be reached right now; the message names the component and its URL."""


class ArtifactError(BevelError):
    """An artifact that cannot be saved or loaded."""


class ArtifactCorrupted(ArtifactError):
    """An artifact's bytes no longer match the content hash recorded for it."""


class ArtifactMissing(ArtifactError):
    """An artifact's files are gone from the artifact store."""


class MetadataError(BevelError):
    """The metadata store cannot be used."""


class MetadataCorrupted(MetadataError):
    """The metadata database file is damaged, or is not a database at all (SQLite's "file is
    not a database", "database disk image is malformed"): no retry helps; the hint says how to
    restore it or start an empty one, and ``bevel doctor`` checks it."""


class DatabaseUnavailable(MetadataError, TransientError):
    """The metadata database cannot be reached right now (restarting, network, locked, deadlock)."""


class SchemaTooNew(MetadataError):
    """The metadata database was written by a newer bevel than this one."""


class NotFound(MetadataError):
    """No entity with that id or name."""


class CacheHitLost(NotFound):
    """The step run a cache hit would reuse was deleted before the reuse was recorded (a
    concurrent ``bevel runs delete``): the step is computed instead."""


class StatusConflict(MetadataError):
    """A status change that the transition table refuses: the record already ended.

    Raised by metadata stores when a write would change a final status (another process ended
    the run first: a reaper that found it silent, ``bevel runs cancel``) or add to an ended run.
    ``entity`` is "run" or "step_run"; ``current`` and ``error`` are what the store holds.
    """

    def __init__(
        self,
        message: str,
        *,
        entity: str,
        id: str,
        current: str,
        error: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.entity = entity
        self.id = id
        self.current = current
        self.error = error


class AccessDenied(MetadataError):
    """A bevel server refused the request: no, an unknown, a revoked or an expired API key
    (``status`` 401), or a role that may not do this (403). The hint says how to get access."""

    def __init__(self, message: str, *, status: int = 401, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ServerUnavailable(MetadataError, TransientError):
    """A bevel server cannot be reached right now (connection refused or dropped, a timeout, a
    proxy's 502/504, the server's 503/429): trying again later may succeed. ``kind`` is
    "network", "timeout" or "throttled"."""


class StepFailed(BevelError):
    """A step raised an exception; the user's exception is chained as ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        step: str,
        hint: str | None = None,
        where: str | None = None,
        traceback: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.step = step
        self.traceback = None if traceback is None else redact(traceback)


class OutputTypeError(StepFailed):
    """A step returned a value that does not match its output annotation."""


class StepInterrupted(BevelError):
    """A step stopped by its orchestrator rather than by its own code: its worker died, or it
    ran past its timeout. The engine records the step failed with this message and runs it
    again when the step has retries left."""

    def __init__(self, message: str, *, step: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.step = step


class WorkerLost(StepInterrupted):
    """The worker process (or Dask worker) running a step died before reporting."""


class StepTimedOut(StepInterrupted):
    """A step ran longer than its ``@step(timeout=...)`` and was stopped."""


class DataError(BevelError):
    """Data that bevel.data cannot profile, validate or compare (wrong type, bad schema...)."""


class DataValidationFailed(DataError):
    """``validate`` found anomalies and the policy is to fail; ``report`` lists them all."""

    def __init__(self, message: str, *, report: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class ModelError(BevelError):
    """A model control plane operation that cannot be done as asked: a promotion rule whose
    metric the version lacks, ``current.model`` outside a model pipeline, a served model that
    cannot answer."""


class TrialPruned(BevelError):
    """Raised in a sweep's trial step when ``current.trial.should_prune()`` said so: the trial
    stops early and is recorded as pruned (its step run cancelled, the study told PRUNED), not
    failed::

        for epoch in range(10):
            current.trial.report(score(epoch), step=epoch)
            if current.trial.should_prune():
                raise TrialPruned()
    """

    def __init__(self, message: str = "the sweep's pruner stopped this trial", **kw: Any) -> None:
        super().__init__(message, **kw)


class RunFailed(BevelError):
    """A pipeline run ended in the failed state."""

    def __init__(self, message: str, *, run_id: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id


class RunCancelled(BevelError):
    """The run was cancelled from another process (``bevel runs cancel``) while this one drove
    it; its steps were stopped and it is recorded as cancelled."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class BevelWarning(UserWarning):
    """Something that works but deserves attention."""


# --- which failures are transient --------------------------------------------------------

_ERRNO_KINDS = {
    **dict.fromkeys(
        (
            errno.ECONNREFUSED,
            errno.ECONNRESET,
            errno.ECONNABORTED,
            errno.EPIPE,
            errno.ENOTCONN,
            errno.EHOSTUNREACH,
            errno.EHOSTDOWN,
            errno.ENETUNREACH,
            errno.ENETDOWN,
            errno.ENETRESET,
        ),
        "network",
    ),
    errno.ETIMEDOUT: "timeout",
}
# Third-party errors, known by class name so that checking one imports none of their libraries.
_NAMED_KINDS = {
    # botocore
    "EndpointConnectionError": "network",
    "ConnectionClosedError": "network",
    "ProxyConnectionError": "network",
    "ConnectTimeoutError": "timeout",
    "ReadTimeoutError": "timeout",
    # aiohttp (s3fs, gcsfs, adlfs)
    "ClientConnectorError": "network",
    "ServerDisconnectedError": "network",
    "ClientOSError": "network",
    "ClientPayloadError": "network",
    "ServerTimeoutError": "timeout",
    # httpx, requests, urllib3
    "ConnectError": "network",
    "RemoteProtocolError": "network",
    "ProtocolError": "network",
    "NewConnectionError": "network",
    "ConnectTimeout": "timeout",
    "ReadTimeout": "timeout",
    "WriteTimeout": "timeout",
    "PoolTimeout": "timeout",
}
# Error codes and HTTP statuses of object stores (S3 and its kin) that say "try again later".
_CODE_KINDS = {
    **dict.fromkeys(
        (
            "SlowDown",
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "RequestThrottled",
            "RequestLimitExceeded",
            "TooManyRequests",
            "TooManyRequestsException",
            "ProvisionedThroughputExceededException",
            "ServiceUnavailable",
            "503",
            "429",
        ),
        "throttled",
    ),
    **dict.fromkeys(("InternalError", "500", "502"), "busy"),
    **dict.fromkeys(("RequestTimeout", "RequestTimeoutException", "504"), "timeout"),
}
_STATUS_KINDS = {429: "throttled", 503: "throttled", 500: "busy", 502: "busy", 504: "timeout"}


def transient_kind(error: BaseException | None) -> str | None:
    """The :class:`TransientError` kind of ``error`` or of an error it was raised from (its
    ``__cause__`` / ``__context__`` chain), or None when nothing in it is known to pass by itself.

    Known: bevel's own :class:`TransientError`; ``TimeoutError`` and ``ConnectionError`` (and
    ``OSError`` with a network errno); a DNS lookup that failed temporarily; the network and
    timeout errors of botocore, aiohttp, httpx, requests and urllib3 (by class name: nothing is
    imported); object-store responses that say "slow down" or "try later" (S3 error codes, HTTP
    429/500/502/503/504). A misspelled host name, a 403, a missing bucket are permanent.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        kind = _own_kind(error)
        if kind is not None:
            return kind
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return None


def _own_kind(error: BaseException) -> str | None:
    if isinstance(error, TransientError):
        return error.kind
    if isinstance(error, BevelError):
        return None  # permanent itself; what it was raised from may still be transient
    if isinstance(error, TimeoutError):
        return "timeout"
    sock = sys.modules.get("socket")  # not imported here: no DNS error exists without it
    if sock is not None and isinstance(error, sock.gaierror):
        return "network" if error.errno == sock.EAI_AGAIN else None
    if isinstance(error, ConnectionError):
        return "network"
    if isinstance(error, OSError) and error.errno in _ERRNO_KINDS:
        return _ERRNO_KINDS[error.errno]
    for cls in type(error).__mro__:
        if cls.__name__ in _NAMED_KINDS:
            return _NAMED_KINDS[cls.__name__]
    return _response_kind(getattr(error, "response", None))


def _response_kind(response: object) -> str | None:
    """botocore's ``ClientError.response`` (a dict) or an HTTP library's response object."""
    if isinstance(response, dict):
        error = response.get("Error")
        code = str(error.get("Code", "")) if isinstance(error, dict) else ""
        if code in _CODE_KINDS:
            return _CODE_KINDS[code]
        meta = response.get("ResponseMetadata")
        status = meta.get("HTTPStatusCode") if isinstance(meta, dict) else None
    else:
        status = getattr(response, "status_code", None)
    return _STATUS_KINDS.get(status) if isinstance(status, int) else None
