"""Fixtures of the dashboard tests: a project with real recorded runs (``recorded``: the
pipelines of ``pipelines.py`` run for real, once per module), the dashboard app over it, a live
server (uvicorn on 127.0.0.1 in a thread), and headless Chromium (Debian's /usr/bin/chromium
driven by Playwright with ``executable_path``, never ``playwright install``; one browser per
module). In CI a missing Chromium fails the browser tests instead of skipping them. The
classes and functions the tests import are in ``dashboard_helpers``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_helpers import HOSTILE, Recorded
from fastapi.testclient import TestClient

from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.auth.store import AuthStore
from bevel.server.dashboard import create_dashboard_app
from bevel.testing.browser import chromium


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    import pipelines

    from bevel.api import run_pipeline

    root = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEVEL_HOME", str(root / ".bevel"))
        mp.delenv("BEVEL_STORE_URL", raising=False)
        mp.chdir(root)
        good = run_pipeline(pipelines.experiment, params={"n": 3})
        bad = run_pipeline(pipelines.experiment, params={"n": 3, "lr": 0.2, "limit": 0.1},
                           raise_on_failure=False)  # fmt: skip
        recorded = Recorded(root, root / ".bevel", good, bad)
        recorded.hostile = _record_models_and_a_hostile_artifact(recorded)
        yield recorded


def _record_models_and_a_hostile_artifact(recorded: Recorded) -> Any:
    from datetime import UTC, datetime, timedelta

    from bevel.metadata.records import ModelStage, ModelVersionRecord, RunStatus, StepCompletion
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.settings import load_settings
    from bevel.testing.records import done, make_artifact, make_run, make_step, new_id

    settings = load_settings(create=False)
    store = SqlMetadataStore(settings.database_url)
    try:
        for run, accuracy in ((recorded.good, 0.8), (recorded.bad, 0.85)):
            store.create_model_version(ModelVersionRecord(
                id=new_id(), model="churn", number=0, created=datetime.now(UTC), run_id=run.id,
                metrics={"accuracy": accuracy}))  # fmt: skip
        store.set_model_stage("churn", 1, ModelStage.PRODUCTION, actor="alice",
                              reason="first model", at=datetime.now(UTC))  # fmt: skip
        folder = settings.artifacts_path / "viz" / "ab"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.html").write_text(HOSTILE)
        run = store.create_run(make_run("reports"))
        step = make_step(run, "report")
        store.start_step_run(step)
        art = make_artifact("reports.report.output", producer_step_run_id=step.id, run_id=run.id,
                            visualizations={"report": str(folder / "report.html")})  # fmt: skip
        (recorded_art,) = store.finish_step_run(StepCompletion(step_run=done(step), outputs=(art,)))
        store.finish_run(run.id, RunStatus.COMPLETED, ended=step.started + timedelta(seconds=2))
        return recorded_art
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


# --- the app through the test client ---------------------------------------------------------


@pytest.fixture(scope="module")
def client(recorded: Recorded) -> Iterator[TestClient]:
    with TestClient(create_dashboard_app(recorded.config(auth=False))) as c:
        yield c


@pytest.fixture(scope="module")
def secured(recorded: Recorded) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from datetime import UTC, datetime

    config = recorded.config(auth=True)
    store = SqlMetadataStore(config.db_url, name="server")
    auth = AuthStore(store)
    now = datetime.now(UTC)
    keys: dict[str, str] = {}
    for role in ("viewer", "editor"):
        name = f"dash-{role}"
        auth.create_user(name, role=role, kind="user", now=now)
        keys[role] = auth.create_key(name, label="test", now=now, expires=None)[0]
    with TestClient(create_dashboard_app(config, store=store)) as c:
        yield c, keys
