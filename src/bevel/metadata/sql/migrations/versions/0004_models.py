"""The model control plane: models, model_versions, model_artifacts, model_events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written out by hand, like the others, so that it keeps producing the same tables after
``schema.py`` moves on. ``uq_model_versions_model_exclusive_stage`` is what keeps a stage to one
holder: ``exclusive_stage`` is the stage for ``staging``/``production`` and NULL otherwise.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
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
        "models",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", _text(), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_models"),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("stage", sa.String(16), nullable=True),
        sa.Column("exclusive_stage", sa.String(16), nullable=True),
        sa.Column("description", _text(), nullable=False),
        sa.Column("metadata", _text(), nullable=False),
        sa.Column("metrics", _text(), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_model_versions_model_models"),
        sa.UniqueConstraint("model", "number", name="uq_model_versions_model_number"),
        sa.UniqueConstraint("model", "name", name="uq_model_versions_model_name"),
        sa.UniqueConstraint("model", "run_id", name="uq_model_versions_model_run_id"),
        sa.UniqueConstraint(
            "model", "exclusive_stage", name="uq_model_versions_model_exclusive_stage"
        ),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "model_artifacts",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("artifact_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "name", name="pk_model_artifacts"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_artifacts_version_id_model_versions",
        ),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_model_artifacts_artifact_id", "model_artifacts", ["artifact_id"])
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(16), nullable=True),
        sa.Column("to_stage", sa.String(16), nullable=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", _text(), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_events"),
        sa.ForeignKeyConstraint(["model"], ["models.name"], name="fk_model_events_model_models"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_model_events_model_id", "model_events", ["model", "id"])


def downgrade() -> None:
    for table in ("model_events", "model_artifacts", "model_versions", "models"):
        op.drop_table(table)
