"""What every request handler reaches through ``request.app.state.bevel``: the store, the
auth store (None without auth), the artifact reader and the configuration. One object, built by
``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from bevel._dataclass import dataclass

if TYPE_CHECKING:
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.server.artifacts import ArtifactReader
    from bevel.server.auth.store import AuthStore
    from bevel.server.config import ServerConfig


@dataclass
class ServerState:
    config: ServerConfig
    store: SqlMetadataStore
    auth: AuthStore | None
    artifacts: ArtifactReader


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.bevel
    return state
