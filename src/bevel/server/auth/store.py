"""Users, service accounts and API keys in the server's database (tables of migration 0003).

Runs on the connections of the server's :class:`~bevel.metadata.sql.store.SqlMetadataStore`
(``reading`` / ``writing``), so the same database (SQLite, PostgreSQL, MySQL) holds both.
Looking a key up is one indexed ``SELECT`` per request, so a revoked key stops working at once;
``last_used`` is written at most once a minute per key, so reads stay reads.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from bevel.errors import ConfigError, NotFound
from bevel.metadata.sql.schema import api_keys, users
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.auth import keys

_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class UserRecord:
    id: str
    name: str
    kind: str  # "user" | "service"
    role: str  # "viewer" | "editor" | "admin"
    created: datetime
    disabled: datetime | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    """A key as stored: never the key itself."""

    id: str
    user: str
    label: str
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None
    last_used: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the key's user and role (``key_id`` None without auth)."""

    name: str
    role: str
    kind: str = "user"
    key_id: str | None = None


def _user(row: RowMapping) -> UserRecord:
    return UserRecord(
        id=row["id"], name=row["name"], kind=row["kind"], role=row["role"],
        created=row["created"], disabled=row["disabled"],
    )  # fmt: skip


def _key(row: RowMapping) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"], user=row["name"], label=row["label"], created=row["created"],
        expires=row["expires"], revoked=row["revoked"], last_used=row["last_used"],
    )  # fmt: skip


def _check_role(role: str) -> None:
    if role not in keys.ROLES:
        raise ConfigError(f"unknown role {role!r}", hint=f"roles: {', '.join(keys.ROLES)}")


class AuthStore:
    """The users and keys of one server database."""

    def __init__(self, store: SqlMetadataStore) -> None:
        self._store = store
        self._touched: dict[str, datetime] = {}
        self._lock = threading.Lock()

    # --- users ------------------------------------------------------------------------------

    def create_user(self, name: str, *, role: str, kind: str, now: datetime) -> UserRecord:
        if not keys.valid_name(name):
            raise ConfigError(
                f"{name!r} is not a valid user name",
                hint="use 1-80 letters, digits, '_', '.', '@' or '-', starting with a letter "
                "or digit",
            )
        _check_role(role)
        if kind not in keys.KINDS:
            raise ConfigError(f"unknown account kind {kind!r}", hint="kinds: user, service")
        user = UserRecord(uuid.uuid4().hex, name, kind, role, now)

        def write(conn: Connection) -> None:
            if conn.execute(select(users.c.id).where(users.c.name == name)).first():
                raise ConfigError(
                    f"a user named {name!r} exists already",
                    hint="choose another name, or change its role (bevel server users set-role)",
                )
            conn.execute(insert(users).values(**vars(user)))

        self._store.writing(f"creating user {name!r}", write)
        return user

    def _get_user(self, conn: Connection, name: str) -> UserRecord:
        row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no user named {name!r}", hint="`bevel server users list` shows them")
        return _user(row)

    def get_user(self, name: str) -> UserRecord:
        with self._store.reading(f"looking up user {name!r}") as conn:
            return self._get_user(conn, name)

    def list_users(self) -> list[UserRecord]:
        with self._store.reading("listing users") as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).mappings()
            return [_user(row) for row in rows]

    def update_user(
        self, name: str, *, role: str | None = None, disabled: datetime | bool | None = False
    ) -> UserRecord:
        """Change a role, or disable (``disabled=<time>``) or re-enable (``None``) an account;
        ``disabled=False`` leaves it as it is."""
        if role is not None:
            _check_role(role)
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role
        if disabled is not False:
            values["disabled"] = disabled

        def write(conn: Connection) -> UserRecord:
            self._get_user(conn, name)
            if values:
                conn.execute(update(users).where(users.c.name == name).values(**values))
            return self._get_user(conn, name)

        return self._store.writing(f"updating user {name!r}", write)

    def count_admins(self) -> int:
        with self._store.reading("counting admins") as conn:
            query = (
                select(func.count())
                .select_from(users)
                .where(users.c.role == keys.ADMIN, users.c.disabled.is_(None))
            )
            return int(conn.execute(query).scalar_one())

    # --- keys -------------------------------------------------------------------------------

    def create_key(
        self, user: str, *, label: str, now: datetime, expires: datetime | None
    ) -> tuple[str, ApiKeyRecord]:
        """A new key for ``user``: ``(the key, shown this once; its record)``."""
        if expires is not None and expires <= now:
            raise ConfigError("an API key must expire in the future", hint="give a later expiry")
        key_id, key = keys.new_key()

        def write(conn: Connection) -> None:
            owner = self._get_user(conn, user)
            conn.execute(
                insert(api_keys).values(
                    id=key_id, user_id=owner.id, label=label[:255], hash=keys.key_hash(key),
                    created=now, expires=expires, revoked=None, last_used=None,
                )
            )  # fmt: skip

        self._store.writing(f"creating an API key for {user!r}", write)
        return key, ApiKeyRecord(key_id, user, label[:255], now, expires)

    def _keys_query(self) -> Any:
        return select(api_keys, users.c.name).join(users, users.c.id == api_keys.c.user_id)

    def list_keys(self, user: str | None = None) -> list[ApiKeyRecord]:
        query = self._keys_query().order_by(api_keys.c.created, api_keys.c.id)
        if user is not None:
            query = query.where(users.c.name == user)
        with self._store.reading("listing API keys") as conn:
            return [_key(row) for row in conn.execute(query).mappings()]

    def get_key(self, key_id: str) -> ApiKeyRecord:
        with self._store.reading(f"looking up API key {key_id!r}") as conn:
            row = conn.execute(self._keys_query().where(api_keys.c.id == key_id)).mappings().first()
        if row is None:
            raise NotFound(f"no API key {key_id!r}", hint="`bevel server keys list` shows them")
        return _key(row)

    def revoke_key(self, key_id: str, *, now: datetime) -> ApiKeyRecord:
        """Revoke a key (at once: the next request with it is refused). Revoking twice keeps
        the first time."""

        def write(conn: Connection) -> None:
            found = conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)).first()
            if found is None:
                raise NotFound(f"no API key {key_id!r}", hint="`bevel server keys list` shows them")
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked.is_(None))
                .values(revoked=now)
            )

        self._store.writing(f"revoking API key {key_id!r}", write)
        return self.get_key(key_id)

    def authenticate(self, key: str, *, now: datetime) -> tuple[Principal | None, str]:
        """The principal a key stands for, or ``(None, why not)``: unknown, revoked, expired,
        or its account disabled."""
        kid = keys.key_id(key)
        if kid is None:
            return None, "the API key is malformed"
        query = select(
            api_keys.c.hash, api_keys.c.expires, api_keys.c.revoked,
            users.c.name, users.c.role, users.c.kind, users.c.disabled,
        ).join(users, users.c.id == api_keys.c.user_id).where(api_keys.c.id == kid)  # fmt: skip
        with self._store.reading("checking an API key") as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not keys.matches(key, row["hash"]):
            return None, "the API key is not known to this server"
        if row["revoked"] is not None:
            return None, "the API key was revoked"
        if row["expires"] is not None and row["expires"] <= now:
            return None, "the API key has expired"
        if row["disabled"] is not None:
            return None, f"the account {row['name']!r} is disabled"
        self._touch(kid, now)
        return Principal(row["name"], row["role"], row["kind"], kid), ""

    def _touch(self, key_id: str, now: datetime) -> None:
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < _TOUCH_EVERY:
                return
            self._touched[key_id] = now
        self._store.writing(
            "recording an API key's use",
            lambda conn: conn.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(last_used=now)
            ),
        )
