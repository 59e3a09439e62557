"""The model audit log through the server records who really promoted: the key's account, not
whatever name the client put in the request."""

from __future__ import annotations

from datetime import UTC, datetime

from bevel.metadata.records import ModelStage
from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.model_contract import make_version
from bevel.testing.servers import BevelServer


def test_the_audit_log_names_the_authenticated_account(
    rest_store: RestMetadataStore, bevel_srv: BevelServer
) -> None:
    rest_store.create_model_version(make_version("churn"))
    key = bevel_srv.new_key("editor", name="mallory")
    as_mallory = RestMetadataStore(bevel_srv.url, api_key=key)
    at = datetime.now(UTC)
    (event,) = as_mallory.set_model_stage(
        "churn", 1, ModelStage.PRODUCTION, actor="the-ceo", reason="ship it", at=at
    )
    assert event.actor.startswith("mallory")  # the claimed name is kept only as a note
    assert event.actor == "mallory (client: the-ceo)"
    (logged,) = rest_store.model_events("churn")
    assert logged.actor == "mallory (client: the-ceo)" and logged.reason == "ship it"
    (again,) = as_mallory.set_model_stage("churn", 1, None, actor="mallory", at=at)
    assert again.actor == "mallory"
