"""The first admin: ``bevel server init-admin`` or ``$BEVEL_ADMIN_KEY``. There is no default
account and no default password: a server with auth and no admin answers every request 401.

- ``init-admin`` writes straight into the database (it runs where the server's database is),
  creates the admin and prints a new key once; it refuses when an admin exists already.
- ``$BEVEL_ADMIN_KEY`` (e.g. from a container's secret store): when the server starts and the
  database has no admin, it creates user ``admin`` with that key, which must be a key in
  bevel's format (``bevel server new-key`` makes one). Once an admin exists, the variable is
  ignored, so changing it later never opens a second way in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bevel.errors import ConfigError
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.auth import keys
from bevel.server.auth.store import AuthStore, insert_key

ENV_ADMIN_KEY = "BEVEL_ADMIN_KEY"
log = logging.getLogger("bevel.server")


def init_admin(store: SqlMetadataStore, name: str = "admin", *, label: str = "init-admin") -> str:
    """Create the first admin and a key that never expires; the key (shown once)."""
    auth = AuthStore(store)
    if auth.count_admins():
        raise ConfigError(
            "this server has an admin already",
            hint="an admin creates more accounts and keys: bevel server users create / "
            "bevel server keys create",
        )
    now = datetime.now(UTC)
    auth.create_user(name, role=keys.ADMIN, kind="user", now=now)
    key, _ = auth.create_key(name, label=label, now=now, expires=None)
    return key


def admin_from_env(store: SqlMetadataStore, key: str) -> bool:
    """Create user ``admin`` holding ``key`` if the database has no admin; whether it did."""
    kid = keys.key_id(key)
    if kid is None:
        raise ConfigError(
            f"${ENV_ADMIN_KEY} is not a bevel API key",
            hint="make one with `bevel server new-key` (bvl_<16 hex>_<43 characters>)",
        )
    auth = AuthStore(store)
    if auth.count_admins():
        return False
    now = datetime.now(UTC)
    user = auth.create_user("admin", role=keys.ADMIN, kind="user", now=now)
    store.writing(
        "storing the admin key",
        lambda conn: insert_key(
            conn, key_id=kid, user_id=user.id, label=f"${ENV_ADMIN_KEY}", key=key, now=now,
            expires=None,
        ),
    )  # fmt: skip
    log.info("created user 'admin' with the key from $%s", ENV_ADMIN_KEY)
    return True
