"""One MLflow server as the MLflow flavors use it: client, errors, experiments, shared runs.

Both flavors key the MLflow runs they make by bevel's ids (tags ``bevel.run_id`` and
``bevel.level=run`` for the run of a bevel run; ``bevel.step_run_id`` and ``bevel.level=step``
for a step's nested run, which also carries ``bevel.run_id``) and look them up before creating
one, so the registry (at the end of a trainer step) and the tracker (at the end of the run) fill
the same MLflow run, and mirroring again never duplicates runs.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from bevel.errors import ComponentUnavailable, StackError, transient_kind

T = TypeVar("T")

RUN_TAG = "bevel.run_id"
STEP_RUN_TAG = "bevel.step_run_id"
LEVEL_TAG = "bevel.level"  # "run" (a bevel run) or "step" (one of its step runs, nested)
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
#: MLflow's limits (of its REST API): values longer than this are refused.
PARAM_VALUE_LIMIT = 6000
TAG_VALUE_LIMIT = 5000
_NAME_OK = re.compile(r"[^\w\-. /]")
# Requests to the server never go through a proxy from the environment (127.0.0.1).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def millis(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def clean_key(key: str) -> str:
    """A param/metric/tag key MLflow accepts (letters, digits, ``_-. /``)."""
    return _NAME_OK.sub("_", key) or "_"


def text(value: Any, limit: int = PARAM_VALUE_LIMIT) -> str:
    """A JSON value as MLflow keeps params and tags: a string, cut to ``limit``."""
    shown = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class MlflowConnection:
    """The client of one tracking server, named for messages by its component."""

    def __init__(
        self, tracking_uri: str, *, what: str, component: str | None, timeout: float,
        retries: int,
    ) -> None:  # fmt: skip
        self.uri = tracking_uri.rstrip("/")
        self.label = f"{what} {component!r}" if component else what
        self.timeout = timeout
        # MLflow's client reads these per request; its defaults (7 retries, backoff factor 2,
        # 120 s) wait minutes for a server that is down. Set only what the user did not.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(timeout)))
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        # bevel records the runs' URLs itself; MLflow would print each to stdout (a step's log)
        # after one more request per run.
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient  # optional: bevel[mlflow]

            self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    # --- errors ------------------------------------------------------------------------------

    def unavailable(self, reason: str) -> ComponentUnavailable:
        return ComponentUnavailable(
            f"the MLflow server of {self.label} at {self.uri} cannot be reached: {reason}",
            hint=f"start it (mlflow server --host 127.0.0.1 ...), or point the component at a "
            f"running one: bevel component update {self._component_arg()} "
            "--tracking-uri http://HOST:PORT",
        )

    def _component_arg(self) -> str:
        return self.label.split("'")[1] if "'" in self.label else "NAME"

    def check(self) -> None:
        """One quick ``/health`` request, so that a server that is down fails in seconds with
        its URL (not after MLflow's retries)."""
        if not self.uri.startswith(("http://", "https://")):
            return  # a file: or databricks URI: nothing to probe
        try:
            with _OPENER.open(f"{self.uri}/health", timeout=min(self.timeout, 5.0)):
                return
        except urllib.error.HTTPError as err:
            if err.code < 500:
                return  # it answered (a proxy in front may not know /health)
            raise self.unavailable(f"/health answered {err.code}") from None
        except OSError as err:
            reason = getattr(err, "reason", err)
            raise self.unavailable(f"{type(err).__name__}: {reason}") from None

    def call(self, action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the client; its failures as bevel errors naming the URL."""
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            if isinstance(err, StackError):
                raise
            detail = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
            if transient_kind(err) or "Max retries exceeded" in str(err):
                raise self.unavailable(f"{action}: {detail}") from err
            raise StackError(
                f"the MLflow server of {self.label} at {self.uri} refused to {action}: {detail}",
                hint="see the server's log; bevel's own records are kept",
            ) from err

    def fail(self, action: str, err: Exception) -> None:
        """Raise ``err`` (caught from the client) as :meth:`call` would have."""
        self.call(action, _reraise, err)

    # --- experiments and runs ----------------------------------------------------------------

    def experiment_id(self, name: str) -> str:
        found = self.call("read an experiment", self.client.get_experiment_by_name, name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name, tags={"bevel": "true"}))
        except Exception as err:  # created meanwhile by another process
            if getattr(err, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                self.fail("create an experiment", err)
        again = self.call("read an experiment", self.client.get_experiment_by_name, name)
        return str(again.experiment_id)

    def find_run(self, experiment_id: str, keys: dict[str, str]) -> Any | None:
        where = " and ".join(f"tags.`{k}` = '{v}'" for k, v in keys.items())
        found = self.call(
            "search runs", self.client.search_runs, [experiment_id], filter_string=where,
            max_results=1,
        )  # fmt: skip
        return found[0] if found else None

    def ensure_run(
        self, experiment_id: str, keys: dict[str, str], *, name: str, tags: dict[str, str],
        start: datetime | None,
    ) -> str:  # fmt: skip
        """The id of the MLflow run tagged with ``keys``, created (with ``tags``) if none is."""
        found = self.find_run(experiment_id, keys)
        if found is not None:
            return str(found.info.run_id)
        made = self.call(
            "create a run", self.client.create_run, experiment_id, start_time=millis(start),
            tags={**tags, **keys, RUN_NAME_TAG: name}, run_name=name,
        )  # fmt: skip
        return str(made.info.run_id)

    def bevel_runs(self, experiment_id: str, run: Any, step_run: Any | None) -> tuple[str, str]:
        """The MLflow runs of bevel ``run`` and of its ``step_run`` (nested in the first);
        ``(run's, step's)``, the step's being the run's when ``step_run`` is None."""
        base = {"bevel.run_name": run.name, "bevel.pipeline": run.pipeline}
        parent = self.ensure_run(
            experiment_id, {RUN_TAG: run.id, LEVEL_TAG: "run"}, name=run.name, tags=base,
            start=run.created,
        )  # fmt: skip
        if step_run is None:
            return parent, parent
        child = self.ensure_run(
            experiment_id, {STEP_RUN_TAG: step_run.id, LEVEL_TAG: "step"},
            name=f"{run.name}.{step_run.step_id}",
            tags={**base, RUN_TAG: run.id, "bevel.step": step_run.step_id, PARENT_TAG: parent},
            start=step_run.started,
        )  # fmt: skip
        return parent, child

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.uri}/#/experiments/{experiment_id}/runs/{run_id}"


class MlflowComponent:
    """What both flavors are built from (the fields of ``MlflowConfig``, plus the component's
    name for messages)."""

    what = "MLflow component"

    def __init__(
        self, tracking_uri: str, experiment: str | None = None, timeout: float = 30.0,
        retries: int = 2, name: str | None = None,
    ) -> None:  # fmt: skip
        self.conn = MlflowConnection(
            tracking_uri, what=self.what, component=name, timeout=timeout, retries=retries
        )
        self.experiment = experiment


def _reraise(err: Exception) -> None:
    raise err
