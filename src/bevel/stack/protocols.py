"""The optional component types: one small protocol each, and who calls it.

A stack may have at most one of each (``stack.component("alerter")``). bevel ships the
``model_deployer`` flavor ``local`` and the MLflow ``experiment_tracker`` and ``model_registry``
flavors; packages provide more through the ``bevel.flavors`` entry point (see
:mod:`bevel.stack.flavors`). A protocol is here only when bevel calls it, and holds only what
bevel calls: :mod:`bevel.run.notify` tells the tracker and the alerter at the end of every run,
in the driver's process, after the run's final status is stored (a component that raises does
not change the run's outcome; a :class:`~bevel.errors.BevelWarning` names it);
:mod:`bevel.models.mirror` tells the model registry when a version is trained, evaluated or
promoted; ``bevel models deploy`` / ``stop`` and ``current.model.deploy()`` call the model
deployer.

Data validators are not a component type yet: they come with the feature that calls them, so
that no registered component sits unused.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ExperimentTracker(Protocol):
    """Mirrors runs into a tracking service (MLflow, W&B...).

    At the end of every run (whatever its status): ``log_params`` once with the run's
    parameters, then ``log_metrics`` with the metrics its steps logged: single values in one
    call with ``step=None``, a series point by point with its ``step``, in step order.
    """

    def log_params(self, run_id: str, params: dict[str, Any]) -> None: ...

    def log_metrics(
        self, run_id: str, metrics: dict[str, float], step: int | None = None
    ) -> None: ...


@runtime_checkable
class StepTracker(Protocol):
    """An experiment tracker that keeps one tracked run per step (MLflow's nested runs).

    When the stack's tracker has ``log_run``, bevel calls it *instead of* ``log_params`` /
    ``log_metrics``, with the run, its step runs and every metric point (each naming the step
    run that logged it). It returns the links to record on bevel's side: ``{"key": "mlflow",
    "run": {...}, "steps": {step_run_id: {...}}}``, written as metadata ``key`` of the run and
    of each step run, so ``bevel runs show`` names the tracked runs.
    """

    def log_run(self, run: Any, step_runs: list[Any], metrics: list[Any]) -> dict[str, Any]: ...


@runtime_checkable
class ModelRegistry(Protocol):
    """Mirrors the model control plane into a registry (MLflow's). bevel's metadata store stays
    the source of truth: the registry gets a copy, and can always be brought up to date again
    (``bevel models sync NAME``).

    - ``register_version(version)``: create the registry's version for a bevel
      :class:`~bevel.models.views.ModelVersion` (its model files, its metrics and links as
      tags), or update the one made before; returns what to record as the version's
      ``registry`` metadata (e.g. ``{"uri": "models:/churn/3", "version": "3"}``).
    - ``set_stages(model, holders)``: make the registry say who holds each stage;
      ``holders`` maps ``"staging"``/``"production"`` to a registry version (the ``version``
      that ``register_version`` returned), a stage missing from it has no holder.
    - ``versions(model)``: read the registry back, one dict per version: ``version``,
      ``aliases`` (or stages), ``bevel_version`` (the bevel number it mirrors, when known),
      ``source``, ``run_id``.
    """

    def register_version(self, version: Any) -> dict[str, Any]: ...

    def set_stages(self, model: str, holders: dict[str, str]) -> None: ...

    def versions(self, model: str) -> list[dict[str, Any]]: ...


@runtime_checkable
class ModelDeployer(Protocol):
    """Serves versions of models kept in ``store`` (the stack's metadata store, where the
    model control plane lives): ``deploy`` returns the URL it serves at, ``stop`` ends the
    model's deployment (raising :class:`~bevel.errors.ModelError` when there is none)."""

    def deploy(self, name: str, version: str, *, store: Any, port: int | None = None) -> str: ...

    def stop(self, name: str, *, store: Any) -> Any: ...


@runtime_checkable
class Alerter(Protocol):
    """Tells people something happened: ``post`` is called when a run ends failed or
    cancelled, with one line naming the run, its pipeline, its status and its error."""

    def post(self, message: str) -> None: ...
