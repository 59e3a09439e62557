"""The optional component types: one small protocol each.

A stack may have at most one of each (``stack.components["alerter"]``). bevel ships no flavors
for them yet; packages provide them through the ``bevel.flavors`` entry point (see
:mod:`bevel.stack.flavors`). The protocols are deliberately small: what a step or the engine
needs to call, not what a service can do.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ExperimentTracker(Protocol):
    """Mirrors runs, parameters and metrics into a tracking service (MLflow, W&B...)."""

    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...

    def log_metrics(
        self, run_id: str, metrics: dict[str, float], step: int | None = None
    ) -> None: ...


@runtime_checkable
class ModelRegistry(Protocol):
    """Registers a model artifact under a name and returns the registered version."""

    def register(self, name: str, artifact_uri: str, *, metadata: dict[str, Any]) -> str: ...


@runtime_checkable
class ModelDeployer(Protocol):
    """Deploys a registered model version and returns where it serves."""

    def deploy(self, name: str, version: str) -> str: ...


@runtime_checkable
class DataValidator(Protocol):
    """Checks a dataset and returns a report (JSON-serialisable)."""

    def validate(self, data: Any, *, reference: Any = None) -> dict[str, Any]: ...


@runtime_checkable
class Alerter(Protocol):
    """Tells people something happened (a run failed, a model got better)."""

    def post(self, message: str) -> None: ...
