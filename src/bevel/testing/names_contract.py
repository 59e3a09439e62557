"""Names the metadata store accepts: the same on every database (see :mod:`bevel.names`).

SQLite stores a 10,000-character name or a NUL happily where PostgreSQL and MariaDB fail with a
driver error, so the store checks names before writing, and every implementation passes these.
"""

from __future__ import annotations

import re

import pytest

from bevel.errors import ConfigError
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import StepCompletion
from bevel.names import MAX_NAME, MAX_RUN_NAME
from bevel.testing.records import done, make_artifact, make_run, make_step


class NamesContract:
    """Mixed into :class:`~bevel.testing.metadata_contract.MetadataStoreContract`."""

    def test_longest_names_round_trip_in_any_script(self, store: MetadataStore) -> None:
        pipeline = "é" * MAX_NAME
        run = store.create_run(make_run(pipeline, name="🚀" * MAX_RUN_NAME))
        assert store.get_run(run.id).name == "🚀" * MAX_RUN_NAME
        step_id, output = "ß" * MAX_NAME, "ø" * MAX_NAME
        step = make_step(run, step_id, step_name="s" * MAX_NAME)
        store.start_step_run(step)
        art = make_artifact(f"{pipeline}.{step_id}.{output}", output)
        stored = store.finish_step_run(StepCompletion(step_run=done(step), outputs=(art,)))
        assert stored[0].name == f"{pipeline}.{step_id}.{output}"
        assert store.step_runs(run.id)[0].step_id == step_id

    @pytest.mark.parametrize(
        ("field", "value", "problem"),
        [
            ("name", "n" * (MAX_RUN_NAME + 1), "256 characters long (at most 255)"),
            ("name", "a\x00b", "control character U+0000"),
            ("name", "nightly/1", "path separator '/'"),
            ("pipeline", "p" * (MAX_NAME + 1), "81 characters long (at most 80)"),
            ("pipeline", "..", "'..' is not a name"),
        ],
    )
    def test_bad_run_names_are_refused_before_writing(
        self, store: MetadataStore, field: str, value: str, problem: str
    ) -> None:
        kind = "run name" if field == "name" else "pipeline name"
        run = make_run(name=value) if field == "name" else make_run(value, name="r")
        with pytest.raises(ConfigError, match=f"invalid {kind} .*{re.escape(problem)}"):
            store.create_run(run)
        assert store.list_runs() == []

    @pytest.mark.parametrize(
        ("step_id", "problem"),
        [
            ("../../x", "path separator '/'"),
            ("s" * 300, "300 characters long (at most 80)"),
            ("tab\there", "control character U+0009"),
        ],
    )
    def test_bad_step_ids_are_refused(
        self, store: MetadataStore, step_id: str, problem: str
    ) -> None:
        run = store.create_run(make_run())
        with pytest.raises(ConfigError, match=f"invalid step id .*{re.escape(problem)}"):
            store.start_step_run(make_step(run, step_id))
        with pytest.raises(ConfigError, match=f"invalid step id .*{re.escape(problem)}"):
            store.finish_step_run(StepCompletion(step_run=done(make_step(run, step_id))))
        assert store.step_runs(run.id) == []

    def test_bad_artifact_names_are_refused(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        step = make_step(run)
        store.start_step_run(step)
        art = make_artifact("train.load.a\nb", "a\nb")
        with pytest.raises(ConfigError, match="invalid artifact name"):
            store.finish_step_run(StepCompletion(step_run=done(step), outputs=(art,)))
        assert store.list_artifacts() == []
