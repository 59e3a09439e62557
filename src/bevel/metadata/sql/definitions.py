"""Stack components, stacks and secrets in SQL: each function runs on a connection it is given.

The store (:mod:`bevel.metadata.sql.store`) opens the transaction. These rows are few and read
rarely (building a non-default stack, the ``bevel stack`` commands), so clarity beats cleverness
here; the one rule that must hold atomically, "a component that a stack uses cannot be deleted",
is checked inside the deleting transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from bevel._text import with_article
from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import ComponentRecord, SecretRecord, StackRecord
from bevel.metadata.sql.schema import components, secrets, stack_members, stacks


def _not_found(kind: str, name: str, command: str) -> NotFound:
    return NotFound(f"no {kind} named {name!r}", hint=f"`{command}` shows the known ones")


def _component(row: RowMapping) -> ComponentRecord:
    return ComponentRecord(
        name=row["name"],
        type=row["type"],
        flavor=row["flavor"],
        config=row["config"],
        created=row["created"],
        updated=row["updated"],
    )


# --- components -------------------------------------------------------------------------------


def get_component(conn: Connection, name: str) -> ComponentRecord:
    row = conn.execute(select(components).where(components.c.name == name)).mappings().first()
    if row is None:
        raise _not_found("stack component", name, "bevel component list")
    return _component(row)


def list_components(conn: Connection, type: str | None) -> list[ComponentRecord]:
    query = select(components).order_by(components.c.type, components.c.name)
    if type is not None:
        query = query.where(components.c.type == type)
    return [_component(row) for row in conn.execute(query).mappings()]


def stacks_using(conn: Connection, component: str) -> list[str]:
    query = (
        select(stack_members.c.stack)
        .where(stack_members.c.component == component)
        .distinct()
        .order_by(stack_members.c.stack)
    )
    return list(conn.execute(query).scalars())


def create_component(conn: Connection, record: ComponentRecord, *, replace: bool) -> None:
    existing = conn.execute(
        select(components.c.type).where(components.c.name == record.name)
    ).first()
    if existing is None:
        conn.execute(
            insert(components).values(
                name=record.name,
                type=record.type,
                flavor=record.flavor,
                config=record.config,
                created=record.created,
                updated=record.updated,
            )
        )
        return
    if not replace:
        raise ConfigError(
            f"a stack component named {record.name!r} already exists",
            hint=f"pick another name, or change it: bevel component update {record.name} ...",
        )
    if existing.type != record.type and (users := stacks_using(conn, record.name)):
        raise ConfigError(
            f"cannot make component {record.name!r} {with_article(record.type)} instead of "
            f"{with_article(existing.type)}: stacks use it ({', '.join(users)})",
            hint="remove it from those stacks first, or pick another name",
        )
    conn.execute(
        update(components)
        .where(components.c.name == record.name)
        .values(
            type=record.type, flavor=record.flavor, config=record.config, updated=record.updated
        )
    )


def update_component(
    conn: Connection, name: str, config: dict[str, Any], updated: datetime
) -> ComponentRecord:
    done = conn.execute(
        update(components).where(components.c.name == name).values(config=config, updated=updated)
    )
    if done.rowcount == 0:
        raise _not_found("stack component", name, "bevel component list")
    return get_component(conn, name)


def delete_component(conn: Connection, name: str) -> None:
    get_component(conn, name)  # NotFound first
    # Lock the row: a stack being registered with this component (create_stack's FOR SHARE)
    # either committed first, and is found below, or waits and then finds it gone.
    conn.execute(select(components.c.name).where(components.c.name == name).with_for_update())
    users = stacks_using(conn, name)
    if users:
        raise ConfigError(
            f"cannot delete component {name!r}: stack(s) {', '.join(users)} use it",
            hint=f"delete those stacks first (bevel stack delete {users[0]}) or re-register "
            "them with another component",
        )
    conn.execute(delete(components).where(components.c.name == name))


# --- stacks -----------------------------------------------------------------------------------


def _members(conn: Connection, names: list[str] | None) -> dict[str, dict[str, str]]:
    query = select(stack_members).order_by(stack_members.c.stack, stack_members.c.type)
    if names is not None:
        query = query.where(stack_members.c.stack.in_(names))
    found: dict[str, dict[str, str]] = {}
    for row in conn.execute(query).mappings():
        found.setdefault(row["stack"], {})[row["type"]] = row["component"]
    return found


def get_stack(conn: Connection, name: str) -> StackRecord:
    row = conn.execute(select(stacks).where(stacks.c.name == name)).mappings().first()
    if row is None:
        raise _not_found("stack", name, "bevel stack list")
    members = _members(conn, [name]).get(name, {})
    return StackRecord(name=row["name"], components=members, created=row["created"])


def list_stacks(conn: Connection) -> list[StackRecord]:
    members = _members(conn, None)
    rows = conn.execute(select(stacks).order_by(stacks.c.name)).mappings()
    return [
        StackRecord(name=r["name"], components=members.get(r["name"], {}), created=r["created"])
        for r in rows
    ]


def create_stack(
    conn: Connection, record: StackRecord, *, replace: bool, require: Sequence[str] = ()
) -> None:
    if require:
        found = set(
            conn.execute(
                select(components.c.name)
                .where(components.c.name.in_(list(require)))
                .with_for_update(read=True)
            ).scalars()
        )
        missing = [name for name in require if name not in found]
        if missing:
            raise ConfigError(
                f"stack {record.name!r}: no component named {missing[0]!r} (it was deleted?)",
                hint="see the components with: bevel component list",
            )
    taken = conn.execute(select(stacks.c.name).where(stacks.c.name == record.name)).first()
    if taken is not None:
        if not replace:
            raise ConfigError(
                f"a stack named {record.name!r} already exists",
                hint=f"pick another name, or delete it first: bevel stack delete {record.name}",
            )
        conn.execute(delete(stack_members).where(stack_members.c.stack == record.name))
    else:
        conn.execute(insert(stacks).values(name=record.name, created=record.created))
    if record.components:
        conn.execute(
            insert(stack_members),
            [
                {"stack": record.name, "type": type_, "component": component}
                for type_, component in record.components.items()
            ],
        )


def delete_stack(conn: Connection, name: str) -> None:
    get_stack(conn, name)
    conn.execute(delete(stack_members).where(stack_members.c.stack == name))
    conn.execute(delete(stacks).where(stacks.c.name == name))


# --- secrets ----------------------------------------------------------------------------------


def _secret(row: RowMapping) -> SecretRecord:
    return SecretRecord(
        name=row["name"], blob=row["value"], created=row["created"], updated=row["updated"]
    )


def put_secret(conn: Connection, record: SecretRecord, *, replace: bool) -> None:
    taken = conn.execute(select(secrets.c.name).where(secrets.c.name == record.name)).first()
    if taken is None:
        conn.execute(
            insert(secrets).values(
                name=record.name, value=record.blob, created=record.created, updated=record.updated
            )
        )
        return
    if not replace:
        raise ConfigError(
            f"a secret named {record.name!r} already exists",
            hint=f"replace it: bevel secret create {record.name} --force ...",
        )
    conn.execute(
        update(secrets)
        .where(secrets.c.name == record.name)
        .values(value=record.blob, updated=record.updated)
    )


def get_secret(conn: Connection, name: str) -> SecretRecord:
    row = conn.execute(select(secrets).where(secrets.c.name == name)).mappings().first()
    if row is None:
        raise _not_found("secret", name, "bevel secret list")
    return _secret(row)


def list_secrets(conn: Connection) -> list[SecretRecord]:
    return [_secret(r) for r in conn.execute(select(secrets).order_by(secrets.c.name)).mappings()]


def delete_secret(conn: Connection, name: str) -> None:
    if conn.execute(delete(secrets).where(secrets.c.name == name)).rowcount == 0:
        raise _not_found("secret", name, "bevel secret list")
