"""The contract of a :class:`~bevel.metadata.base.DefinitionStore` (components, stacks, secrets).

:class:`~bevel.testing.metadata_contract.MetadataStoreContract` includes these tests, so every
metadata store suite runs them; they skip for a store that does not keep definitions (only the
*home* store has to). To run them alone, subclass :class:`DefinitionStoreContract` and provide a
``store`` fixture giving a fresh, empty store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bevel.errors import ConfigError, NotFound
from bevel.metadata.base import DefinitionStore
from bevel.metadata.records import ComponentRecord, SecretRecord, StackRecord

T0 = datetime(2024, 6, 1, 9, 30, 0, 654321, tzinfo=UTC)


def make_component(
    name: str = "s3-store", type: str = "artifact_store", **config: object
) -> ComponentRecord:
    return ComponentRecord(
        name=name,
        type=type,
        flavor="s3",
        config=config or {"path": "s3://bucket/prefix", "key": "{{s3.key}}", "n": 3, "é": "ü"},
        created=T0,
        updated=T0,
    )


def make_stack(name: str = "team", **components: str) -> StackRecord:
    members = components or {"orchestrator": "local", "artifact_store": "s3-store"}
    return StackRecord(name=name, components=members, created=T0)


class DefinitionStoreContract:
    """Behaviour every definition store shares: names, refusals, ordering and error texts."""

    @pytest.fixture
    def defs(self, store: object) -> DefinitionStore:
        if not isinstance(store, DefinitionStore):
            pytest.skip(f"{type(store).__name__} keeps no stack definitions")
        return store

    def test_component_round_trip(self, defs: DefinitionStore) -> None:
        record = make_component()
        assert defs.create_component(record) == record
        assert defs.get_component("s3-store") == record
        assert defs.list_components() == [record]
        assert defs.list_components("artifact_store") == [record]
        assert defs.list_components("orchestrator") == []

    def test_component_names_are_unique_across_types(self, defs: DefinitionStore) -> None:
        defs.create_component(make_component("x"))
        with pytest.raises(ConfigError, match="component named 'x' already exists"):
            defs.create_component(make_component("x", "orchestrator"))

    def test_components_listed_by_type_then_name(self, defs: DefinitionStore) -> None:
        for name, type_ in (("b", "orchestrator"), ("a", "orchestrator"), ("c", "alerter")):
            defs.create_component(make_component(name, type_))
        assert [c.name for c in defs.list_components()] == ["c", "a", "b"]

    def test_update_component(self, defs: DefinitionStore) -> None:
        defs.create_component(make_component())
        later = T0 + timedelta(hours=1)
        updated = defs.update_component("s3-store", {"path": "s3://other"}, updated=later)
        assert updated.config == {"path": "s3://other"}
        assert (updated.created, updated.updated) == (T0, later)
        assert defs.get_component("s3-store") == updated
        with pytest.raises(NotFound, match="no stack component named 'nope'") as err:
            defs.update_component("nope", {}, updated=later)
        assert err.value.hint and "bevel component list" in err.value.hint

    def test_replace_component(self, defs: DefinitionStore) -> None:
        defs.create_component(make_component())
        new = make_component(path="s3://new")
        assert defs.create_component(new, replace=True).config == {"path": "s3://new"}

    def test_component_used_by_a_stack_cannot_be_deleted(self, defs: DefinitionStore) -> None:
        defs.create_component(make_component())
        defs.create_stack(make_stack("team"))
        defs.create_stack(make_stack("alpha"))
        assert defs.stacks_using("s3-store") == ["alpha", "team"]
        with pytest.raises(ConfigError, match="stack\\(s\\) alpha, team use it"):
            defs.delete_component("s3-store")
        with pytest.raises(ConfigError, match="stacks use it"):
            defs.create_component(make_component(type="orchestrator"), replace=True)
        defs.delete_stack("team")
        defs.delete_stack("alpha")
        defs.delete_component("s3-store")
        with pytest.raises(NotFound):
            defs.get_component("s3-store")
        with pytest.raises(NotFound):
            defs.delete_component("s3-store")

    def test_required_components_are_checked_with_the_insert(self, defs: DefinitionStore) -> None:
        """What was checked before (the component exists) is checked again in the insert's own
        transaction, so a component deleted in between cannot leave a dangling stack."""
        defs.create_component(make_component())
        stack = defs.create_stack(make_stack("team"), require=["s3-store"])
        assert stack.components["artifact_store"] == "s3-store"
        defs.delete_stack("team")
        defs.delete_component("s3-store")
        with pytest.raises(ConfigError, match="stack 'team': no component named 's3-store'"):
            defs.create_stack(make_stack("team"), require=["s3-store"])
        assert defs.list_stacks() == []

    def test_stack_round_trip(self, defs: DefinitionStore) -> None:
        record = make_stack(
            "team", orchestrator="local", artifact_store="s3", metadata_store="db", alerter="a"
        )
        assert defs.create_stack(record) == record
        assert defs.get_stack("team") == record
        defs.create_stack(make_stack("a-first"))
        assert [s.name for s in defs.list_stacks()] == ["a-first", "team"]
        assert defs.list_stacks()[1] == record

    def test_stack_names_are_unique_unless_replaced(self, defs: DefinitionStore) -> None:
        defs.create_stack(make_stack("team"))
        with pytest.raises(ConfigError, match="stack named 'team' already exists"):
            defs.create_stack(make_stack("team"))
        replaced = defs.create_stack(make_stack("team", orchestrator="o2"), replace=True)
        assert replaced.components == {"orchestrator": "o2"}
        assert replaced.created == T0

    def test_delete_stack(self, defs: DefinitionStore) -> None:
        defs.create_stack(make_stack("team"))
        defs.delete_stack("team")
        assert defs.list_stacks() == []
        with pytest.raises(NotFound, match="no stack named 'team'") as err:
            defs.get_stack("team")
        assert err.value.hint and "bevel stack list" in err.value.hint
        with pytest.raises(NotFound):
            defs.delete_stack("team")

    def test_names_are_case_sensitive(self, defs: DefinitionStore) -> None:
        defs.create_component(make_component("Store"))
        defs.create_component(make_component("store"))
        assert [c.name for c in defs.list_components()] == ["Store", "store"]

    def test_secret_round_trip(self, defs: DefinitionStore) -> None:
        secret = SecretRecord(name="s3", blob="gAAAA" + "x" * 5000, created=T0, updated=T0)
        defs.put_secret(secret)
        assert defs.get_secret("s3") == secret
        with pytest.raises(ConfigError, match="secret named 's3' already exists"):
            defs.put_secret(secret)
        later = T0 + timedelta(minutes=5)
        defs.put_secret(SecretRecord("s3", "other", later, later), replace=True)
        got = defs.get_secret("s3")
        assert (got.blob, got.created, got.updated) == ("other", T0, later)
        defs.put_secret(SecretRecord("a", "1", T0, T0))
        assert [s.name for s in defs.list_secrets()] == ["a", "s3"]
        defs.delete_secret("s3")
        with pytest.raises(NotFound, match="no secret named 's3'"):
            defs.get_secret("s3")
        with pytest.raises(NotFound):
            defs.delete_secret("s3")
