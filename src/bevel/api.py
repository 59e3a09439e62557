"""``run_pipeline()``: build the stack, compile, run the engine, return a RunView.

This is the path every run takes, from ``training(C=0.5)`` in a notebook and from ``bevel run``::

    from bevel import run_pipeline
    run = run_pipeline(training, params={"C": 0.5}, config="run.yaml", enable_cache=False)
    run.steps["evaluate"].outputs["accuracy"].load()
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bevel._text import shown_path
from bevel.artifacts.materializers import refs, registry
from bevel.artifacts.materializers.json_builtins import NOT_JSON_HINT
from bevel.artifacts.materializers.refs import mark_file_module
from bevel.authoring.pipeline import PipelineDefinition
from bevel.cache._project import is_user_frame
from bevel.cache.fingerprint import code_hash
from bevel.client.client import Client
from bevel.client.liveness import reap_dead_runs
from bevel.client.views import RunView
from bevel.dag.compile import Compiled, Toolbox, compile_plan
from bevel.dag.config import RunConfig, load_run_config
from bevel.errors import (
    BevelError,
    BevelWarning,
    ConfigError,
    MetadataError,
    NotFound,
    PipelineFileError,
    RunCancelled,
    RunFailed,
)
from bevel.metadata.records import RunRecord, RunStatus
from bevel.models.register import resolve as resolve_model
from bevel.run.engine import execute, new_run
from bevel.run.events import RunListener
from bevel.settings import Settings, load_settings
from bevel.stack.build import build_stack
from bevel.stack.stack import Stack
from bevel.stack.validate import check_reachable, validate_stack

if TYPE_CHECKING:
    from pathlib import Path


def _materializer_version(ref: str) -> str:
    return str(registry.get_materializer(ref).version)


TOOLBOX = Toolbox(
    materializer_for=registry.resolve_materializer,
    materializer_version=_materializer_version,
    materializer_ref=registry.materializer_ref,
    code_hash=code_hash,
    type_ref=registry.type_ref,
    pickle_materializer=registry.PICKLE_MATERIALIZER,
    unknown_type_hint=registry.unknown_type_hint,
    json_materializer=registry.JSON_MATERIALIZER,
    not_json_hint=NOT_JSON_HINT,
)


def compile_pipeline(
    pipeline: PipelineDefinition,
    *,
    params: dict[str, Any] | None = None,
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    run_name: str | None = None,
    enable_cache: bool | None = None,
    visualize: bool | None = None,
) -> Compiled:
    """Trace and check ``pipeline`` without running it (all compile-time errors surface here)."""
    if not isinstance(pipeline, PipelineDefinition):
        raise ConfigError(
            f"expected a @pipeline, got {type(pipeline).__name__}",
            hint="decorate the function with @pipeline",
        )
    run_config = load_run_config(config if config is not None else pipeline.config.config)
    return compile_plan(
        pipeline,
        params or {},
        run_config,
        TOOLBOX,
        enable_cache=enable_cache,
        run_name=run_name,
        visualize=visualize,
    )


def run_pipeline(
    pipeline: PipelineDefinition,
    *,
    params: dict[str, Any] | None = None,
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    run_name: str | None = None,
    enable_cache: bool | None = None,
    visualize: bool | None = None,
    stack: Stack | str | None = None,
    listener: RunListener | None = None,
    raise_on_failure: bool = True,
) -> RunView:
    """Run ``pipeline`` on ``stack`` and return its RunView.

    ``stack`` is a built :class:`Stack`, a stack name, or None: the pipeline's own
    (``with_options(stack=...)``), else the active one (``$BEVEL_STACK``, else ``bevel stack
    set``, else the local zero-setup ``default``). Before the run is recorded the stack is checked
    against the plan (a remote orchestrator needs remote stores) and a remote artifact store is
    probed once, so an unreachable endpoint fails fast, naming the component. Runs of this
    stack's metadata store whose process died are then recorded as failed (reads never do it).

    ``visualize=False`` stores no visualizations (statistics, previews) with this run's
    artifacts, whatever the steps say.

    Raises :class:`~bevel.errors.RunFailed` (with the failing step's exception chained) when a
    step fails, unless ``raise_on_failure=False``; also when another process ended the run while
    it ran here (a reader that declared it dead), which ``raise_on_failure=False`` turns into a
    warning. Ctrl-C records the run as cancelled, once the steps running then have ended (a
    second Ctrl-C stops waiting), and re-raises ``KeyboardInterrupt``. A stack built here (from a
    name, or the active one) is closed before returning; a :class:`Stack` passed in stays open.
    """
    compiled = compile_pipeline(
        pipeline,
        params=params,
        config=config,
        run_name=run_name,
        enable_cache=enable_cache,
        visualize=visualize,
    )
    if stack is None:
        stack = pipeline.config.stack
    if not isinstance(stack, Stack | str | None):
        raise ConfigError(
            f"stack must be a stack name or a built Stack, got {type(stack).__name__}",
            hint='e.g. run_pipeline(training, stack="team") (see: bevel stack list)',
        )
    if isinstance(stack, Stack):  # the caller's: it stays open, the caller closes it
        return _run_on(compiled, stack, None, listener, raise_on_failure)
    settings = load_settings()
    built = build_stack(stack, settings)
    try:
        return _run_on(compiled, built, settings, listener, raise_on_failure)
    finally:
        built.close()  # the returned view reconnects when it is read


def _run_on(
    compiled: Compiled,
    stack: Stack,
    settings: Settings | None,
    listener: RunListener | None,
    raise_on_failure: bool,
    resumes: RunRecord | None = None,
) -> RunView:
    validate_stack(stack, compiled.plan)
    check_reachable(stack)
    reap_dead_runs(stack.metadata_store)  # writers reap (reads never do): see client.liveness
    compiled = replace(compiled, plan=resolve_model(compiled.plan, stack))  # before it is recorded
    result = execute(
        compiled,
        stack,
        run=new_run(compiled.plan, stack),
        listener=listener,
        settings=settings,
        resumes=resumes,
    )
    final = result.run
    if result.lost is not None:
        _ended_elsewhere(final, result.lost, raise_on_failure)
    elif final.status is RunStatus.FAILED and raise_on_failure:
        step_id, error = next(iter(result.errors.items()), ("?", None))
        raise RunFailed(
            f"run {final.name} failed: step '{step_id}' raised {type(error).__name__}: {error}"
            if error
            else f"run {final.name} failed",
            run_id=final.id,
            hint=f"see the error and traceback with: bevel runs show {final.name}",
        ) from error
    return Client(stack).get_run(final.id)


def _ended_elsewhere(final: RunRecord, lost: MetadataError, raise_on_failure: bool) -> None:
    """Say that another process ended (or deleted) the run while this one still drove it."""
    if final.status is RunStatus.CANCELLED:  # `bevel runs cancel`: the view says so
        if raise_on_failure:
            raise RunCancelled(
                f"run {final.name} was cancelled from another process"
                f" ({final.error or 'bevel runs cancel'})",
                run_id=final.id,
            ) from lost
        return
    if isinstance(lost, NotFound):
        message = f"run {final.name} was deleted by another process while it ran here"
    else:
        message = (
            f"run {final.name} was ended as {final.status} by another process while it still"
            f" ran here ({final.error or 'no reason given'}); what this process did after that"
            " is not recorded"
        )
    hint = (
        "a run is marked failed when other readers see no heartbeat from its process for"
        " minutes (a suspended machine, a stalled process); run the pipeline again: steps"
        " recorded before are reused from the cache"
    )
    if raise_on_failure:
        raise RunFailed(message, run_id=final.id, hint=hint) from lost
    warnings.warn(f"{message}\n  hint: {hint}", BevelWarning, stacklevel=3)


def resume_run(
    run: str,
    *,
    stack: Stack | str | None = None,
    listener: RunListener | None = None,
    raise_on_failure: bool = True,
) -> RunView:
    """Run a failed or cancelled run again as a new run linked to it (run metadata
    ``resumed_from``): the steps it completed are reused, the others run with the code as it
    is now (see :mod:`bevel.run.resume`). ``run`` is a run name, id or id prefix, found on
    ``stack``, where the new run goes too (default: the stack the old run ran on, as found
    through the active one's metadata store)."""
    if isinstance(stack, Stack):
        return _resume_on(run, stack, None, listener, raise_on_failure)
    settings = load_settings()
    built = build_stack(stack, settings)
    try:
        if stack is None:
            recorded = built.metadata_store.get_run(run).stack
            if recorded != built.name:
                built.close()
                built = build_stack(recorded, settings)
        return _resume_on(run, built, settings, listener, raise_on_failure)
    finally:
        built.close()


def _resume_on(
    ref: str,
    stack: Stack,
    settings: Settings | None,
    listener: RunListener | None,
    raise_on_failure: bool,
) -> RunView:
    reap_dead_runs(stack.metadata_store)  # a run whose driver died is failed: resumable
    old = stack.metadata_store.get_run(ref)
    if old.status is RunStatus.RUNNING:
        raise ConfigError(
            f"run {old.name} is still running",
            hint=f"cancel it first (bevel runs cancel {old.name}), then resume it",
        )
    if old.status is RunStatus.COMPLETED:
        raise ConfigError(
            f"run {old.name} completed: there is nothing to resume",
            hint=f"run the pipeline again to recompute what changed: bevel run FILE:{old.pipeline}",
        )
    pipeline = _recorded_pipeline(old)
    compiled = compile_pipeline(
        pipeline,
        params=dict(old.params),
        config=dict(old.config) or None,
        enable_cache=bool(old.plan.get("enable_cache", True)),
    )
    return _run_on(compiled, stack, settings, listener, raise_on_failure, resumes=old)


def _recorded_pipeline(run: RunRecord) -> PipelineDefinition:
    """The pipeline a recorded run ran, imported again from its module or its file."""
    source, file = str(run.plan.get("source", "")), str(run.plan.get("file", ""))
    module, _, _ = source.rpartition(":")
    if module and module != "__main__":
        try:
            found = refs.import_ref(source)
        except (ImportError, AttributeError):
            found = None
        if isinstance(found, PipelineDefinition):
            return found
    if file.endswith(".py") and os.path.isfile(file):
        return load_pipeline(f"{file}:{run.pipeline}")
    raise ConfigError(
        f"the pipeline of run {run.name} ({source or run.pipeline}) cannot be found here:"
        f" its file {file or '(unknown)'} is gone",
        hint="resume from the project where the run was started, with its files in place",
    )


def load_pipeline(target: str) -> PipelineDefinition:
    """Load ``path/to/file.py:pipeline_name`` (or a file with exactly one pipeline).

    The file is imported as a module named after it, with its folder on ``sys.path`` so that its
    local imports (helpers next to it) work, as they do for ``python file.py``. When importing it
    fails (a SyntaxError, a missing module, an exception or ``sys.exit()`` in its top-level code)
    the error is the user's: :class:`~bevel.errors.PipelineFileError` names the line, carries the
    user's own traceback frames and says how to fix it, with the original exception chained.
    """
    path_text, _, name = target.partition(":")
    if ":" in target and len(path_text) == 1:  # a Windows drive letter, e.g. C:\\...
        path_text, _, name = target[2:].partition(":")
        path_text = target[:2] + path_text
    # As given, not normalised ("link/../f.py" is not "f.py" when link is a symlink); os.path,
    # not pathlib: bevel run imports no pathlib.
    path = path_text or "."
    if not os.path.isfile(path):
        raise ConfigError(
            f"pipeline file not found: {path}",
            hint="give a Python file and a pipeline: bevel run path/to/file.py:my_pipeline",
        )
    module = _import_file(path)
    found = {obj.name: obj for obj in vars(module).values() if isinstance(obj, PipelineDefinition)}
    if name:
        if name in found:
            return found[name]
        attr = getattr(module, name, None)
        if isinstance(attr, PipelineDefinition):
            return attr
        raise ConfigError(
            f"{path} has no pipeline named '{name}'",
            hint=f"pipelines in that file: {', '.join(found) or '(none: decorate one with @pipeline)'}",
        )
    if len(found) == 1:
        return next(iter(found.values()))
    raise ConfigError(
        f"{path} defines {len(found)} pipelines, so say which one to run",
        hint=f"use {path}:NAME with NAME one of: {', '.join(found) or '(none)'}",
    )


_STAMP = "__bevel_file_stamp__"


def _stamp(path: str) -> tuple[int, int]:
    """(modification time, size) of a file: changes when the user edits and saves it."""
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size


def _import_file(path: str) -> Any:
    resolved = os.path.realpath(path)
    folder = os.path.dirname(resolved)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = os.path.splitext(os.path.basename(resolved))[0]
    stamp = _stamp(resolved)
    existing = sys.modules.get(module_name)
    if (
        existing is not None
        and getattr(existing, "__file__", None) == resolved
        and getattr(existing, _STAMP, stamp) == stamp
    ):
        return existing  # already imported and unchanged since (an edited file is imported anew)
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {path}", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    setattr(module, _STAMP, stamp)
    sys.modules[module_name] = module
    mark_file_module(module_name)  # its classes are recorded by file path (importable elsewhere)
    try:
        spec.loader.exec_module(module)
    except BevelError:  # e.g. a bad @step(...) option: already says where and how to fix it
        sys.modules.pop(module_name, None)
        raise
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt stays an interrupt
        sys.modules.pop(module_name, None)
        raise _import_failed(path, exc) from exc
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that are the user's code (not bevel, importlib, click
    or another library)."""
    stack = traceback.extract_tb(exc.__traceback__)
    return [f for f in stack if is_user_frame(f.filename)]


def _format_frames(frames: list[traceback.FrameSummary]) -> list[str]:
    lines = []
    for frame in frames:
        lines.append(f'  File "{shown_path(frame.filename)}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return lines


def _import_failed(path: str, exc: BaseException) -> PipelineFileError:
    """The user's error for ``path`` failing to import: headline, own frames, a hint."""
    file = shown_path(path)
    frames = _user_frames(exc)
    lines = _format_frames(frames)
    where = f"{shown_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else file
    guard = 'guard script code with `if __name__ == "__main__":`'
    if isinstance(exc, SyntaxError):
        bad = shown_path(exc.filename) if exc.filename else file
        where = f"{bad}:{exc.lineno}" if exc.lineno else bad
        detail = traceback.format_exception_only(type(exc), exc)
        # the offending line with a caret under the error ("  File ..." and the last line are
        # the headline's already)
        lines += [text.rstrip("\n") for text in detail[1:-1]]
        during = f" (while importing {file})" if bad != file else ""
        return PipelineFileError(
            f"{type(exc).__name__}: {exc.msg}{during}",
            where=where,
            frames=tuple(lines),
            hint=f"fix the code at {where}, then run again",
        )
    if isinstance(exc, SystemExit):
        return PipelineFileError(
            f"importing {file} called sys.exit({exc.code!r})",
            where=where,
            frames=tuple(lines),
            hint=f"bevel imports the file to find its pipelines, so its top-level code runs: {guard}",
        )
    headline = f"importing {file} raised {type(exc).__name__}: {exc}"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        hint = (
            f"install the package that provides {exc.name!r} for the Python that runs bevel: "
            f"{sys.executable} -m pip install PACKAGE; if it is your own module, put it next to "
            f"{file} or on PYTHONPATH"
        )
    elif isinstance(exc, ImportError):
        hint = f"fix the import at {where} (is the name spelled as the module defines it?)"
    else:
        hint = (
            f"bevel imports the file to find its pipelines, so its top-level code runs first: "
            f"fix the error at {where}, or move that code into a step, or {guard}"
        )
    return PipelineFileError(headline, where=where, frames=tuple(lines), hint=hint)
