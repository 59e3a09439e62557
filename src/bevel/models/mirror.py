"""Telling the stack's model registry (MLflow's) what the model control plane did.

bevel's metadata store is the source of truth; the registry gets a copy:

- after a ``@trainer`` (the version and its model files) and an ``@evaluator`` (its metrics)
  are recorded: :func:`version_changed`, whose result is kept as the version's ``registry``
  metadata (``{"uri": "models:/churn/3", "version": "3", ...}``);
- after every promotion: :func:`stages_changed` (MLflow aliases follow bevel's stages);
- ``bevel models sync NAME`` (:func:`sync`): every version and the stages again, for a registry
  that was down or was added to the stack later.

Failures never undo what bevel recorded. Inside a step they are a
:class:`~bevel.errors.BevelWarning` (the step's work is done); from the CLI or the Client, a
promotion whose mirror failed raises the registry's error, saying the promotion itself is
recorded and how to bring the registry up to date.
"""

from __future__ import annotations

import warnings
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import BevelError, BevelWarning, StackError
from bevel.metadata.records import ModelStage
from bevel.models.views import ModelVersion
from bevel.stack.stack import Stack

REGISTRY_KEY = "registry"


def registry(stack: Stack) -> Any | None:
    return stack.component("model_registry")


def _label(stack: Stack) -> str:
    return f"model registry {stack.component_names.get('model_registry', 'model_registry')!r}"


def version_changed(stack: Stack, model: str, number: int, *, warn: bool = True) -> None:
    """Mirror one version (created, or its metrics changed); record where it went."""
    found = registry(stack)
    if found is None:
        return
    store = stack.metadata_store
    try:
        record = store.get_model_version(model, number)
        if record.artifact("model") is None:
            return  # nothing trained yet: the trainer's completion mirrors it
        info = found.register_version(ModelVersion(record, stack))
        if info != record.metadata.get(REGISTRY_KEY):
            store.update_model_version(record.id, metadata={REGISTRY_KEY: info})
    except Exception as err:
        if not warn:
            raise
        _warn(stack, model, f"model {model!r} version {number}", err)


def stages_changed(stack: Stack, model: str, *, warn: bool, what: str = "") -> None:
    """Make the registry's aliases say who holds ``staging`` and ``production`` now."""
    found = registry(stack)
    if found is None:
        return
    try:
        found.set_stages(model, holders(stack, model))
    except Exception as err:
        if warn:
            _warn(stack, model, f"model {model!r}'s stages", err)
            return
        raise _after(stack, what or f"model {model!r}'s stages changed", model, err) from err


def holders(stack: Stack, model: str) -> dict[str, str]:
    """Stage -> registry version of its holder; a holder the registry does not have yet (it
    was down when the version was trained, or was added later) is registered first."""
    out: dict[str, str] = {}
    for stage in (ModelStage.STAGING, ModelStage.PRODUCTION):
        for record in stack.metadata_store.list_model_versions(model, stage=stage, limit=1):
            mirrored = record.metadata.get(REGISTRY_KEY) or {}
            if not mirrored.get("version") and record.artifact("model") is not None:
                version_changed(stack, model, record.number, warn=False)
                mirrored = stack.metadata_store.get_model_version(model, record.number)
                mirrored = mirrored.metadata.get(REGISTRY_KEY) or {}
            if mirrored.get("version"):
                out[stage.value] = str(mirrored["version"])
    return out


@dataclass
class SyncReport:
    """What ``bevel models sync`` did: versions mirrored, skipped (no model yet), stages."""

    registered: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)


def sync(stack: Stack, model: str) -> SyncReport:
    """Every version of ``model`` and its stages, mirrored again (errors raised)."""
    found = registry(stack)
    if found is None:
        raise StackError(
            f"stack {stack.name!r} has no model registry to sync model {model!r} to",
            hint="register one (bevel component register model_registry NAME --flavor mlflow "
            "--tracking-uri http://127.0.0.1:5000) and add it to the stack (bevel stack "
            "register STACK ... --model-registry NAME --force)",
        )
    report = SyncReport()
    records = stack.metadata_store.list_model_versions(model, limit=0)
    if not records:
        stack.metadata_store.get_model_version(model, "latest")  # NotFound names the model
    for record in sorted(records, key=lambda r: r.number):
        if record.artifact("model") is None:
            report.skipped.append(record.number)
            continue
        version_changed(stack, model, record.number, warn=False)
        report.registered.append(record.number)
    report.stages = holders(stack, model)
    found.set_stages(model, report.stages)
    return report


def _after(stack: Stack, what: str, model: str, err: Exception) -> BevelError:
    """The registry's error, saying what bevel has recorded all the same."""
    headline = err.message if isinstance(err, BevelError) else f"{type(err).__name__}: {err}"
    cls = type(err) if isinstance(err, BevelError) else StackError
    made = cls(
        f"{what} (recorded by bevel), but the {_label(stack)} was not told: {headline}",
        hint=(err.hint + "; then " if isinstance(err, BevelError) and err.hint else "")
        + f"bring it up to date: bevel models sync {model}",
    )
    return made


def _warn(stack: Stack, model: str, what: str, err: Exception) -> None:
    text = err.message if isinstance(err, BevelError) else f"{type(err).__name__}: {err}"
    warnings.warn(
        f"the {_label(stack)} was not told about {what}: {text} (bevel's records are kept; "
        f"once it is reachable: bevel models sync {model})",
        BevelWarning,
        stacklevel=3,
    )
