"""Users, service accounts and API keys in the server's database (tables of migration 0003).

Runs on the connections of the server's :class:`~bevel.metadata.sql.store.SqlMetadataStore`
(``reading`` / ``writing``), so the same database (SQLite, PostgreSQL, MySQL) holds both.
Looking a key up is one indexed ``SELECT`` per request, so a revoked key stops working at once;
``last_used`` is written at most once a minute per key, so reads stay reads.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import ConfigError, NotFound
from bevel.metadata.sql.db import Conn, Row
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


_USERS = "SELECT id, name, kind, role, created, disabled FROM users"
_KEYS = (
    "SELECT k.id, u.name, k.label, k.created, k.expires, k.revoked, k.last_used"
    " FROM api_keys k JOIN users u ON u.id = k.user_id"
)
_INSERT_KEY = (
    "INSERT INTO api_keys (id, user_id, label, hash, created, expires, revoked, last_used)"
    " VALUES (:id, :user_id, :label, :hash, :created, :expires, NULL, NULL)"
)


def _user(conn: Conn, row: Row) -> UserRecord:
    id_, name, kind, role, created, disabled = row
    time = conn.dialect.time
    return UserRecord(id_, name, kind, role, time(created), time(disabled))  # type: ignore[arg-type]


def _key(conn: Conn, row: Row) -> ApiKeyRecord:
    id_, user, label, created, expires, revoked, last_used = row
    time = conn.dialect.time
    made = time(created)
    assert made is not None  # NOT NULL
    return ApiKeyRecord(id_, user, label, made, time(expires), time(revoked), time(last_used))


def insert_key(
    conn: Conn, *, key_id: str, user_id: str, label: str, key: str, now: datetime,
    expires: datetime | None,
) -> None:  # fmt: skip
    conn.run(
        _INSERT_KEY, id=key_id, user_id=user_id, label=label, hash=keys.key_hash(key),
        created=now, expires=expires,
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

        def write(conn: Conn) -> None:
            if conn.first("SELECT id FROM users WHERE name = :name", name=name):
                raise ConfigError(
                    f"a user named {name!r} exists already",
                    hint="choose another name, or change its role (bevel server users set-role)",
                )
            conn.run(
                "INSERT INTO users (id, name, kind, role, created, disabled)"
                " VALUES (:id, :name, :kind, :role, :created, :disabled)",
                vars(user),
            )

        self._store.writing(f"creating user {name!r}", write)
        return user

    def _get_user(self, conn: Conn, name: str) -> UserRecord:
        row = conn.first(f"{_USERS} WHERE name = :name", name=name)
        if row is None:
            raise NotFound(f"no user named {name!r}", hint="`bevel server users list` shows them")
        return _user(conn, row)

    def get_user(self, name: str) -> UserRecord:
        with self._store.reading(f"looking up user {name!r}") as conn:
            return self._get_user(conn, name)

    def list_users(self) -> list[UserRecord]:
        with self._store.reading("listing users") as conn:
            return [_user(conn, row) for row in conn.all(f"{_USERS} ORDER BY name")]

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

        def write(conn: Conn) -> UserRecord:
            self._get_user(conn, name)
            if values:
                sets = ", ".join(f"{column} = :{column}" for column in values)
                conn.run(f"UPDATE users SET {sets} WHERE name = :name", values, name=name)
            return self._get_user(conn, name)

        return self._store.writing(f"updating user {name!r}", write)

    def count_admins(self) -> int:
        with self._store.reading("counting admins") as conn:
            (count,) = conn.scalars(
                "SELECT count(*) FROM users WHERE role = :role AND disabled IS NULL",
                role=keys.ADMIN,
            )
            return int(count)

    # --- keys -------------------------------------------------------------------------------

    def create_key(
        self, user: str, *, label: str, now: datetime, expires: datetime | None
    ) -> tuple[str, ApiKeyRecord]:
        """A new key for ``user``: ``(the key, shown this once; its record)``."""
        if expires is not None and expires <= now:
            raise ConfigError("an API key must expire in the future", hint="give a later expiry")
        key_id, key = keys.new_key()

        def write(conn: Conn) -> None:
            owner = self._get_user(conn, user)
            insert_key(
                conn, key_id=key_id, user_id=owner.id, label=label[:255], key=key, now=now,
                expires=expires,
            )  # fmt: skip

        self._store.writing(f"creating an API key for {user!r}", write)
        return key, ApiKeyRecord(key_id, user, label[:255], now, expires)

    def list_keys(self, user: str | None = None) -> list[ApiKeyRecord]:
        where = " WHERE u.name = :user" if user is not None else ""
        with self._store.reading("listing API keys") as conn:
            rows = conn.all(f"{_KEYS}{where} ORDER BY k.created, k.id", user=user)
            return [_key(conn, row) for row in rows]

    def get_key(self, key_id: str) -> ApiKeyRecord:
        with self._store.reading(f"looking up API key {key_id!r}") as conn:
            row = conn.first(f"{_KEYS} WHERE k.id = :id", id=key_id)
            if row is None:
                raise NotFound(f"no API key {key_id!r}", hint="`bevel server keys list` shows them")
            return _key(conn, row)

    def revoke_key(self, key_id: str, *, now: datetime) -> ApiKeyRecord:
        """Revoke a key (at once: the next request with it is refused). Revoking twice keeps
        the first time."""

        def write(conn: Conn) -> None:
            if conn.first("SELECT id FROM api_keys WHERE id = :id", id=key_id) is None:
                raise NotFound(f"no API key {key_id!r}", hint="`bevel server keys list` shows them")
            conn.run(
                "UPDATE api_keys SET revoked = :now WHERE id = :id AND revoked IS NULL",
                now=now,
                id=key_id,
            )

        self._store.writing(f"revoking API key {key_id!r}", write)
        return self.get_key(key_id)

    def authenticate(self, key: str, *, now: datetime) -> tuple[Principal | None, str]:
        """The principal a key stands for, or ``(None, why not)``: unknown, revoked, expired,
        or its account disabled."""
        kid = keys.key_id(key)
        if kid is None:
            return None, "the API key is malformed"
        with self._store.reading("checking an API key") as conn:
            row = conn.first(
                "SELECT k.hash, k.expires, k.revoked, u.name, u.role, u.kind, u.disabled"
                " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = :id",
                id=kid,
            )
            expires = None if row is None else conn.dialect.time(row[1])
        if row is None or not keys.matches(key, row[0]):
            return None, "the API key is not known to this server"
        _, _, revoked, name, role, kind, disabled = row
        if revoked is not None:
            return None, "the API key was revoked"
        if expires is not None and expires <= now:
            return None, "the API key has expired"
        if disabled is not None:
            return None, f"the account {name!r} is disabled"
        self._touch(kid, now)
        return Principal(name, role, kind, kid), ""

    def _touch(self, key_id: str, now: datetime) -> None:
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < _TOUCH_EVERY:
                return
            self._touched[key_id] = now
        self._store.writing(
            "recording an API key's use",
            lambda conn: conn.run(
                "UPDATE api_keys SET last_used = :now WHERE id = :id", now=now, id=key_id
            ),
        )
