"""The optional component types: one small protocol each, and who calls it.

A stack may have at most one of each (``stack.component("alerter")``). bevel ships the
``model_deployer`` flavor ``local``; packages provide more through the ``bevel.flavors`` entry
point (see :mod:`bevel.stack.flavors`). A protocol is here only when bevel calls it, and holds
only what bevel calls: :mod:`bevel.run.notify` tells the tracker and the alerter at the end of
every run, in the driver's process, after the run's final status is stored (a component that
raises does not change the run's outcome; a :class:`~bevel.errors.BevelWarning` names it);
``bevel models deploy`` / ``stop`` and ``current.model.deploy()`` call the model deployer.

Model registries and data validators are not component types yet: they come with the features
that call them, so that no registered component sits unused.
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
