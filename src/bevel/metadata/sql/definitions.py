"""Stack components, stacks and secrets in SQL: each function runs on a connection it is given.

The store (:mod:`bevel.metadata.sql.store`) opens the transaction. These rows are few and read
rarely (building a non-default stack, the ``bevel stack`` commands), so clarity beats cleverness
here; the one rule that must hold atomically, "a component that a stack uses cannot be deleted",
is checked inside the deleting transaction. Queries are portable SQL text
(:mod:`bevel.metadata.sql.dialect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bevel._text import with_article
from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import ComponentRecord, SecretRecord, StackRecord
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.tables import COMPONENT, SECRET, to_json

_COMPONENTS = f"SELECT {COMPONENT.columns()} FROM components"
_SECRETS = f"SELECT {SECRET.columns()} FROM secrets"


def _not_found(kind: str, name: str, command: str) -> NotFound:
    return NotFound(f"no {kind} named {name!r}", hint=f"`{command}` shows the known ones")


# --- components -------------------------------------------------------------------------------


def get_component(conn: Conn, name: str) -> ComponentRecord:
    row = conn.first(f"{_COMPONENTS} WHERE name = :name", name=name)
    if row is None:
        raise _not_found("stack component", name, "bevel component list")
    return COMPONENT.record(row, conn.dialect)


def list_components(conn: Conn, type: str | None) -> list[ComponentRecord]:
    where = " WHERE type = :type" if type is not None else ""
    rows = conn.all(f"{_COMPONENTS}{where} ORDER BY type, name", type=type)
    return COMPONENT.records(rows, conn.dialect)


def stacks_using(conn: Conn, component: str) -> list[str]:
    return conn.scalars(
        "SELECT DISTINCT stack FROM stack_members WHERE component = :component ORDER BY stack",
        component=component,
    )


def create_component(conn: Conn, record: ComponentRecord, *, replace: bool) -> None:
    existing = conn.first("SELECT type FROM components WHERE name = :name", name=record.name)
    if existing is None:
        conn.run(COMPONENT.insert(), COMPONENT.params(record))
        return
    if not replace:
        raise ConfigError(
            f"a stack component named {record.name!r} already exists",
            hint=f"pick another name, or change it: bevel component update {record.name} ...",
        )
    if existing[0] != record.type and (users := stacks_using(conn, record.name)):
        raise ConfigError(
            f"cannot make component {record.name!r} {with_article(record.type)} instead of "
            f"{with_article(existing[0])}: stacks use it ({', '.join(users)})",
            hint="remove it from those stacks first, or pick another name",
        )
    conn.run(
        "UPDATE components SET type = :type, flavor = :flavor, config = :config,"
        " updated = :updated WHERE name = :name",
        name=record.name,
        type=record.type,
        flavor=record.flavor,
        config=to_json(record.config),
        updated=record.updated,
    )


def update_component(
    conn: Conn, name: str, config: dict[str, Any], updated: datetime
) -> ComponentRecord:
    done = conn.run(
        "UPDATE components SET config = :config, updated = :updated WHERE name = :name",
        config=to_json(config),
        updated=updated,
        name=name,
    )
    if done == 0:
        raise _not_found("stack component", name, "bevel component list")
    return get_component(conn, name)


def delete_component(conn: Conn, name: str) -> None:
    get_component(conn, name)  # NotFound first
    # Lock the row: a stack being registered with this component (create_stack's FOR SHARE)
    # either committed first, and is found below, or waits and then finds it gone.
    conn.first("SELECT name FROM components WHERE name = :name {for_update}", name=name)
    users = stacks_using(conn, name)
    if users:
        raise ConfigError(
            f"cannot delete component {name!r}: stack(s) {', '.join(users)} use it",
            hint=f"delete those stacks first (bevel stack delete {users[0]}) or re-register "
            "them with another component",
        )
    conn.run("DELETE FROM components WHERE name = :name", name=name)


# --- stacks -----------------------------------------------------------------------------------


def _members(conn: Conn, names: list[str] | None) -> dict[str, dict[str, str]]:
    where = " WHERE stack IN (:names)" if names is not None else ""
    rows = conn.all(
        f"SELECT stack, type, component FROM stack_members{where} ORDER BY stack, type",
        names=names,
    )
    found: dict[str, dict[str, str]] = {}
    for stack, type_, component in rows:
        found.setdefault(stack, {})[type_] = component
    return found


def get_stack(conn: Conn, name: str) -> StackRecord:
    row = conn.first("SELECT name, created FROM stacks WHERE name = :name", name=name)
    if row is None:
        raise _not_found("stack", name, "bevel stack list")
    members = _members(conn, [name]).get(name, {})
    return StackRecord(name=row[0], components=members, created=conn.dialect.time(row[1]))  # type: ignore[arg-type]


def list_stacks(conn: Conn) -> list[StackRecord]:
    members = _members(conn, None)
    time = conn.dialect.time
    return [
        StackRecord(name=name, components=members.get(name, {}), created=time(created))  # type: ignore[arg-type]
        for name, created in conn.all("SELECT name, created FROM stacks ORDER BY name")
    ]


def create_stack(
    conn: Conn, record: StackRecord, *, replace: bool, require: Sequence[str] = ()
) -> None:
    if require:
        found = set(
            conn.scalars(
                "SELECT name FROM components WHERE name IN (:names) {for_share}",
                names=list(require),
            )
        )
        missing = [name for name in require if name not in found]
        if missing:
            raise ConfigError(
                f"stack {record.name!r}: no component named {missing[0]!r} (it was deleted?)",
                hint="see the components with: bevel component list",
            )
    taken = conn.first("SELECT name FROM stacks WHERE name = :name", name=record.name)
    if taken is not None:
        if not replace:
            raise ConfigError(
                f"a stack named {record.name!r} already exists",
                hint=f"pick another name, or delete it first: bevel stack delete {record.name}",
            )
        conn.run("DELETE FROM stack_members WHERE stack = :name", name=record.name)
    else:
        conn.run(
            "INSERT INTO stacks (name, created) VALUES (:name, :created)",
            name=record.name,
            created=record.created,
        )
    conn.many(
        "INSERT INTO stack_members (stack, type, component) VALUES (:stack, :type, :component)",
        [
            {"stack": record.name, "type": type_, "component": component}
            for type_, component in record.components.items()
        ],
    )


def delete_stack(conn: Conn, name: str) -> None:
    get_stack(conn, name)
    conn.run("DELETE FROM stack_members WHERE stack = :name", name=name)
    conn.run("DELETE FROM stacks WHERE name = :name", name=name)


# --- secrets ----------------------------------------------------------------------------------


def put_secret(conn: Conn, record: SecretRecord, *, replace: bool) -> None:
    taken = conn.first("SELECT name FROM secrets WHERE name = :name", name=record.name)
    if taken is None:
        conn.run(SECRET.insert(), SECRET.params(record))
        return
    if not replace:
        raise ConfigError(
            f"a secret named {record.name!r} already exists",
            hint=f"replace it: bevel secret create {record.name} --force ...",
        )
    conn.run(
        "UPDATE secrets SET value = :value, updated = :updated WHERE name = :name",
        value=record.blob,
        updated=record.updated,
        name=record.name,
    )


def get_secret(conn: Conn, name: str) -> SecretRecord:
    row = conn.first(f"{_SECRETS} WHERE name = :name", name=name)
    if row is None:
        raise _not_found("secret", name, "bevel secret list")
    return SECRET.record(row, conn.dialect)


def list_secrets(conn: Conn) -> list[SecretRecord]:
    return SECRET.records(conn.all(f"{_SECRETS} ORDER BY name"), conn.dialect)


def delete_secret(conn: Conn, name: str) -> None:
    if conn.run("DELETE FROM secrets WHERE name = :name", name=name) == 0:
        raise _not_found("secret", name, "bevel secret list")
