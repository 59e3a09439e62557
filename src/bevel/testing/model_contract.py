"""The model control plane part of the metadata store contract (versions, stages, audit log).

Mixed into :class:`bevel.testing.metadata_contract.MetadataStoreContract`, so every store runs
it. The race test promotes from many threads at once: on a server database each thread has its
own connection, so the "one holder per stage" rule is exercised under real concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bevel.errors import ConfigError, NotFound
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import (
    ModelArtifactLink,
    ModelStage,
    ModelVersionRecord,
    StepCompletion,
)
from bevel.testing.records import T0, done, make_artifact, make_run, make_step, new_id


def make_version(model: str = "churn", **kw: object) -> ModelVersionRecord:
    fields: dict[str, object] = {"id": new_id(), "model": model, "number": 0, "created": T0}
    fields.update(kw)
    return ModelVersionRecord(**fields)  # type: ignore[arg-type]


class ModelStoreContract:
    """Tests of the model methods; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        raise NotImplementedError("provide a `store` fixture")

    def test_versions_are_numbered_per_model(self, store: MetadataStore) -> None:
        a1 = store.create_model_version(make_version("a"))
        b1 = store.create_model_version(make_version("b"))
        a2 = store.create_model_version(make_version("a", name="wide", description="more trees"))
        assert (a1.number, b1.number, a2.number) == (1, 1, 2)
        got = store.get_model_version("a", "wide")
        assert got == a2 and got.description == "more trees"
        assert store.get_model_version("a", 1) == a1
        assert store.get_model_version("a", "latest") == a2
        assert [v.number for v in store.list_model_versions("a")] == [2, 1]
        models = {m.name: m for m in store.list_models()}
        assert (models["a"].versions, models["a"].latest, models["b"].versions) == (2, 2, 1)

    def test_one_version_per_run_and_model(self, store: MetadataStore) -> None:
        link = ModelArtifactLink("model", new_id(), "model")
        first = store.create_model_version(make_version(run_id="r1"))
        again = store.create_model_version(make_version(run_id="r1", artifacts=(link,)))
        assert again.id == first.id and again.number == 1
        assert again.artifacts == (link,)
        other = store.create_model_version(make_version(run_id="r2"))
        assert other.number == 2

    def test_version_names_are_unique_and_not_refs(self, store: MetadataStore) -> None:
        store.create_model_version(make_version(name="v-good"))
        with pytest.raises(ConfigError, match="already has a version named 'v-good'"):
            store.create_model_version(make_version(name="v-good"))
        for bad in ("3", "production", "latest"):
            with pytest.raises(ConfigError, match="cannot name a model version"):
                store.create_model_version(make_version(name=bad))

    def test_metadata_metrics_and_links_merge(self, store: MetadataStore) -> None:
        version = store.create_model_version(make_version(metadata={"a": 1}))
        data = ModelArtifactLink("data.train", new_id(), "data")
        updated = store.update_model_version(
            version.id, metadata={"b": [1, 2]}, metrics={"accuracy": 0.9}, artifacts=(data,)
        )
        assert updated.metadata == {"a": 1, "b": [1, 2]}
        assert updated.metrics == {"accuracy": 0.9}
        again = store.update_model_version(version.id, metrics={"accuracy": 0.95, "f1": 0.5})
        assert again.metrics == {"accuracy": 0.95, "f1": 0.5}
        assert again.artifact("data.train") == data
        assert store.get_model_version("churn", 1) == again

    def test_promotion_archives_the_previous_holder_and_is_audited(
        self, store: MetadataStore
    ) -> None:
        for _ in range(3):
            store.create_model_version(make_version())
        at = T0 + timedelta(hours=1)
        store.set_model_stage("churn", 1, ModelStage.PRODUCTION, actor="ann", reason="v1", at=at)
        store.set_model_stage("churn", 2, ModelStage.STAGING, actor="bob", at=at)
        events = store.set_model_stage(
            "churn", 3, ModelStage.PRODUCTION, actor="cy", reason="beats v1", at=at
        )
        assert [(e.version, e.from_stage, e.to_stage) for e in events] == [
            (1, ModelStage.PRODUCTION, ModelStage.ARCHIVED),
            (3, None, ModelStage.PRODUCTION),
        ]
        assert store.get_model_version("churn", "production").number == 3
        assert store.get_model_version("churn", "staging").number == 2
        assert store.get_model_version("churn", 1).stage is ModelStage.ARCHIVED
        assert [
            v.number for v in store.list_model_versions("churn", stage=ModelStage.ARCHIVED)
        ] == [1]
        log = store.model_events("churn")
        assert [(e.version, e.to_stage, e.actor) for e in log] == [
            (1, ModelStage.PRODUCTION, "ann"),
            (2, ModelStage.STAGING, "bob"),
            (1, ModelStage.ARCHIVED, "cy"),
            (3, ModelStage.PRODUCTION, "cy"),
        ]
        assert (
            log[-1].reason == "beats v1" and "replaced in production by version 3" in log[-2].reason
        )
        assert log[-1].created == at
        assert store.model_events("churn", limit=1) == log[-1:]
        assert store.list_models()[0].stages == {"production": 3, "staging": 2}
        # the same move again changes nothing and logs nothing
        assert store.set_model_stage("churn", 3, ModelStage.PRODUCTION, actor="cy", at=at) == []
        assert len(store.model_events("churn")) == 4

    def test_missing_models_versions_and_empty_stages_say_what_to_do(
        self, store: MetadataStore
    ) -> None:
        with pytest.raises(NotFound, match="no model named 'nope'") as err:
            store.get_model_version("nope", "production")
        assert "bevel models list" in (err.value.hint or "")
        store.create_model_version(make_version())
        with pytest.raises(NotFound, match="has no version in production") as err:
            store.get_model_version("churn", "production")
        assert "bevel models promote churn VERSION --stage production" in (err.value.hint or "")
        with pytest.raises(NotFound, match="has no version '7'"):
            store.get_model_version("churn", 7)
        with pytest.raises(NotFound):
            store.set_model_stage("churn", 7, ModelStage.STAGING, actor="x", at=T0)
        with pytest.raises(NotFound):
            store.list_model_versions("nope")
        with pytest.raises(ConfigError, match="'archived' names many versions"):
            store.get_model_version("churn", "archived")

    def test_concurrent_promotions_never_leave_two_holders(self, store: MetadataStore) -> None:
        count = 8
        for _ in range(count):
            store.create_model_version(make_version())
        barrier = threading.Barrier(count)
        errors: list[BaseException] = []

        def promote(number: int) -> None:
            try:
                barrier.wait(timeout=30)
                for _ in range(3):
                    store.set_model_stage(
                        "churn", number, ModelStage.PRODUCTION, actor=f"t{number}", at=T0
                    )
                    store.set_model_stage("churn", number, None, actor=f"t{number}", at=T0)
                store.set_model_stage(
                    "churn", number, ModelStage.PRODUCTION, actor=f"t{number}", at=T0
                )
            except BaseException as exc:  # reported below, with the thread's own error
                errors.append(exc)

        threads = [threading.Thread(target=promote, args=(n,)) for n in range(1, count + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        versions = store.list_model_versions("churn", limit=0)
        holders = [v.number for v in versions if v.stage is ModelStage.PRODUCTION]
        assert len(holders) == 1
        # The audit log replays to the same state: every move starts where the last one ended.
        state: dict[int, ModelStage | None] = {v.number: None for v in versions}
        for event in store.model_events("churn"):
            assert state[event.version] == event.from_stage, event
            state[event.version] = event.to_stage
        assert state == {v.number: v.stage for v in versions}
        assert store.get_model_version("churn", "production").number == holders[0]

    def test_deleting_the_training_run_keeps_the_model_artifact(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        step = make_step(run, "train")
        store.start_step_run(step)
        (art,) = store.finish_step_run(
            StepCompletion(done(step), outputs=(make_artifact("train.train.model", "model"),))
        )
        store.create_model_version(
            make_version(run_id=run.id, artifacts=(ModelArtifactLink("model", art.id, "model"),))
        )
        uris = store.delete_run(run.id, force=True)
        assert art.uri not in uris
        kept = store.get_artifact(art.id)
        assert kept.content_hash == art.content_hash and kept.run_id is None
        assert store.get_model_version("churn", 1).artifact("model") is not None
