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
├── ArtifactError                an artifact that cannot be saved or loaded
│   ├── ArtifactCorrupted        bytes on disk no longer match the recorded content hash
│   └── ArtifactMissing          the artifact's files are gone
├── MetadataError                the metadata store cannot be used
│   ├── SchemaTooNew             the database was written by a newer bevel
│   ├── NotFound                 no run / step / artifact / pipeline with that id or name
│   │   └── CacheHitLost         a cache hit's records were deleted before the reuse was recorded
│   └── StatusConflict           a status change refused: the run or step run already ended
├── StepFailed                   a step raised (wraps the user's exception as __cause__)
│   └── OutputTypeError          a step returned something that does not match its annotation
├── DataError                    data that cannot be profiled, validated or compared
│   └── DataValidationFailed     validate(..., on_anomaly="fail") found anomalies
├── RunFailed                    a run ended failed (names the failed steps)
└── RunCancelled                 the run was interrupted (Ctrl-C)
BevelWarning (Warning)           things that work but deserve attention
```
"""

from __future__ import annotations


class BevelError(Exception):
    """Base of every error bevel raises on purpose.

    ``hint`` says how to fix it; ``where`` is ``"file.py:12"`` when the error points at user code.
    """

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
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


class ArtifactError(BevelError):
    """An artifact that cannot be saved or loaded."""


class ArtifactCorrupted(ArtifactError):
    """An artifact's bytes no longer match the content hash recorded for it."""


class ArtifactMissing(ArtifactError):
    """An artifact's files are gone from the artifact store."""


class MetadataError(BevelError):
    """The metadata store cannot be used."""


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
        self.traceback = traceback


class OutputTypeError(StepFailed):
    """A step returned a value that does not match its output annotation."""


class DataError(BevelError):
    """Data that bevel.data cannot profile, validate or compare (wrong type, bad schema...)."""


class DataValidationFailed(DataError):
    """``validate`` found anomalies and the policy is to fail; ``report`` lists them all."""

    def __init__(self, message: str, *, report: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class RunFailed(BevelError):
    """A pipeline run ended in the failed state."""

    def __init__(self, message: str, *, run_id: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id


class RunCancelled(BevelError):
    """A pipeline run was interrupted (Ctrl-C or a signal) and recorded as cancelled."""

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


class BevelWarning(UserWarning):
    """Something that works but deserves attention."""
