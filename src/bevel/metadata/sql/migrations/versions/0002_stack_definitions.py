"""Stack definitions: components, stacks, stack_members, secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01

Written out by hand, like 0001, so that it keeps producing the same tables after ``schema.py``
moves on. Same portability rules: ``String(255)`` names, ``LONGTEXT`` on MySQL, UTC datetimes
with microseconds on MySQL, utf8mb4 with binary collation.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _dt() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), *MYSQL)


def _text() -> sa.types.TypeEngine[Any]:
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def upgrade() -> None:
    op.create_table(
        "components",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("flavor", sa.String(255), nullable=False),
        sa.Column("config", _text(), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.Column("updated", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_components"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_components_type", "components", ["type"])

    op.create_table(
        "stacks",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_stacks"),
        **TABLE_OPTIONS,
    )

    op.create_table(
        "stack_members",
        sa.Column("stack", sa.String(255), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("component", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("stack", "type", name="pk_stack_members"),
        sa.ForeignKeyConstraint(["stack"], ["stacks.name"], name="fk_stack_members_stack_stacks"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_stack_members_component", "stack_members", ["component"])

    op.create_table(
        "secrets",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", _text(), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.Column("updated", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_secrets"),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    for table in ("secrets", "stack_members", "stacks", "components"):
        op.drop_table(table)
