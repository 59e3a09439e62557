"""``run_pipeline()``: build the stack, compile, run the engine, return a RunView.

This is the path every run takes, from ``training(C=0.5)`` in a notebook and from ``bevel run``::

    from bevel import run_pipeline
    run = run_pipeline(training, params={"C": 0.5}, config="run.yaml", enable_cache=False)
    run.steps["evaluate"].outputs["accuracy"].load()
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.refs import mark_file_module
from bevel.authoring.pipeline import PipelineDefinition
from bevel.cache.fingerprint import code_hash
from bevel.client.client import Client
from bevel.client.views import RunView
from bevel.dag.compile import Compiled, Toolbox, compile_plan
from bevel.dag.config import RunConfig, load_run_config
from bevel.errors import ConfigError, RunFailed
from bevel.metadata.records import RunStatus
from bevel.run.engine import execute, new_run
from bevel.run.events import RunListener
from bevel.stack.build import build_stack
from bevel.stack.stack import Stack
from bevel.stack.validate import check_reachable, validate_stack


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
)


def compile_pipeline(
    pipeline: PipelineDefinition,
    *,
    params: dict[str, Any] | None = None,
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    run_name: str | None = None,
    enable_cache: bool | None = None,
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
    )


def run_pipeline(
    pipeline: PipelineDefinition,
    *,
    params: dict[str, Any] | None = None,
    config: str | Path | dict[str, Any] | RunConfig | None = None,
    run_name: str | None = None,
    enable_cache: bool | None = None,
    stack: Stack | str | None = None,
    listener: RunListener | None = None,
    raise_on_failure: bool = True,
) -> RunView:
    """Run ``pipeline`` on ``stack`` and return its RunView.

    ``stack`` is a built :class:`Stack`, a stack name, or None: the pipeline's own
    (``with_options(stack=...)``), else the active one (``$BEVEL_STACK``, else ``bevel stack
    set``, else the local zero-setup ``default``). Before the run is recorded the stack is checked
    against the plan (a remote orchestrator needs remote stores) and a remote artifact store is
    probed once, so an unreachable endpoint fails fast, naming the component.

    Raises :class:`~bevel.errors.RunFailed` (with the failing step's exception chained) when a
    step fails, unless ``raise_on_failure=False``; Ctrl-C records the run as cancelled and
    re-raises ``KeyboardInterrupt``.
    """
    compiled = compile_pipeline(
        pipeline, params=params, config=config, run_name=run_name, enable_cache=enable_cache
    )
    if stack is None:
        stack = pipeline.config.stack
    if not isinstance(stack, Stack | str | None):
        raise ConfigError(
            f"stack must be a stack name or a built Stack, got {type(stack).__name__}",
            hint='e.g. run_pipeline(training, stack="team") (see: bevel stack list)',
        )
    if not isinstance(stack, Stack):
        stack = build_stack(stack)
    validate_stack(stack, compiled.plan)
    check_reachable(stack)
    run = new_run(compiled.plan, stack)
    stack.metadata_store.create_run(run)
    result = execute(compiled, stack, run=run, listener=listener)
    final = result.run
    if final.status is RunStatus.FAILED and raise_on_failure:
        step_id, error = next(iter(result.errors.items()), ("?", None))
        raise RunFailed(
            f"run {final.name} failed: step '{step_id}' raised {type(error).__name__}: {error}"
            if error
            else f"run {final.name} failed",
            run_id=final.id,
            hint=f"see the error and traceback with: bevel runs show {final.name}",
        ) from error
    return Client(stack).get_run(final.id)


def load_pipeline(target: str) -> PipelineDefinition:
    """Load ``path/to/file.py:pipeline_name`` (or a file with exactly one pipeline).

    The file is imported as a module named after it, with its folder on ``sys.path`` so that its
    local imports (helpers next to it) work, as they do for ``python file.py``.
    """
    path_text, _, name = target.partition(":")
    if ":" in target and len(path_text) == 1:  # a Windows drive letter, e.g. C:\\...
        path_text, _, name = target[2:].partition(":")
        path_text = target[:2] + path_text
    path = Path(path_text)
    if not path.is_file():
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


def _import_file(path: Path) -> Any:
    resolved = path.resolve()
    folder = str(resolved.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = resolved.stem
    existing = sys.modules.get(module_name)
    if existing is not None and getattr(existing, "__file__", None) == str(resolved):
        return existing
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot import {path}", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    mark_file_module(module_name)  # its classes are recorded by file path (importable elsewhere)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
