"""Initial schema: pipelines, runs, step_runs, artifacts, lineage, metrics, metadata_entries.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out by hand rather than importing ``bevel.metadata.sql.schema``: a migration is a frozen
record of one step, and must keep producing the same tables after ``schema.py`` moves on.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MYSQL = ("mysql", "mariadb")
# Full Unicode and case-sensitive names on MySQL/MariaDB, as on the other databases.
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _dt() -> sa.types.TypeEngine[Any]:
    """Aware UTC datetime; microsecond precision on MySQL (its default is whole seconds)."""
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), *MYSQL)


def _text() -> sa.types.TypeEngine[Any]:
    """Unbounded text; MySQL's TEXT stops at 64 KiB."""
    return sa.Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def _id(name: str, **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), **kw)


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.Column("source", _text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_pipelines"),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "runs",
        _id("id", nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", _dt(), nullable=False),
        sa.Column("ended", _dt(), nullable=True),
        sa.Column("params", _text(), nullable=False),
        sa.Column("config", _text(), nullable=False),
        sa.Column("plan", _text(), nullable=False),
        sa.Column("code_fingerprint", sa.String(128), nullable=False),
        sa.Column("stack", sa.String(255), nullable=False),
        sa.Column("error", _text(), nullable=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("heartbeat", _dt(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("name", name="uq_runs_name"),
        sa.ForeignKeyConstraint(
            ["pipeline"], ["pipelines.name"], name="fk_runs_pipeline_pipelines"
        ),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_runs_pipeline_created", "runs", ["pipeline", "created"])
    op.create_index("ix_runs_status_created", "runs", ["status", "created"])
    op.create_index("ix_runs_created", "runs", ["created"])

    op.create_table(
        "step_runs",
        _id("id", nullable=False),
        _id("run_id", nullable=False),
        sa.Column("step_id", sa.String(255), nullable=False),
        sa.Column("step_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", _dt(), nullable=False),
        sa.Column("ended", _dt(), nullable=True),
        sa.Column("cache_key", sa.String(128), nullable=True),
        _id("cached_from", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("params", _text(), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("error", _text(), nullable=True),
        sa.Column("traceback", _text(), nullable=True),
        sa.Column("logs_uri", _text(), nullable=True),
        sa.Column("cache_ingredients", _text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_step_runs"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_step_runs_run_id_runs"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_step_runs_run_id_started", "step_runs", ["run_id", "started"])
    op.create_index(
        "ix_step_runs_cache_key_status_started", "step_runs", ["cache_key", "status", "started"]
    )
    op.create_index("ix_step_runs_step_id_started", "step_runs", ["step_id", "started"])

    op.create_table(
        "artifacts",
        _id("id", nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("uri", _text(), nullable=False),
        sa.Column("type_ref", _text(), nullable=False),
        sa.Column("materializer", _text(), nullable=False),
        sa.Column("materializer_version", sa.String(255), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _id("producer_step_run_id", nullable=True),
        _id("run_id", nullable=True),
        sa.Column("output_name", sa.String(255), nullable=False),
        sa.Column("metadata", _text(), nullable=False),
        sa.Column("visualizations", _text(), nullable=False),
        sa.Column("python_version", sa.String(32), nullable=True),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.UniqueConstraint("name", "version", name="uq_artifacts_name_version"),
        sa.ForeignKeyConstraint(
            ["producer_step_run_id"],
            ["step_runs.id"],
            name="fk_artifacts_producer_step_run_id_step_runs",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_artifacts_run_id_runs"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_artifacts_content_hash", "artifacts", ["content_hash"])
    op.create_index("ix_artifacts_run_id", "artifacts", ["run_id"])
    op.create_index("ix_artifacts_producer_step_run_id", "artifacts", ["producer_step_run_id"])

    op.create_table(
        "lineage",
        _id("step_run_id", nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        _id("artifact_id", nullable=False),
        sa.PrimaryKeyConstraint("step_run_id", "direction", "name", name="pk_lineage"),
        sa.ForeignKeyConstraint(
            ["step_run_id"], ["step_runs.id"], name="fk_lineage_step_run_id_step_runs"
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["artifacts.id"], name="fk_lineage_artifact_id_artifacts"
        ),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_lineage_artifact_id", "lineage", ["artifact_id"])

    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("run_id", nullable=False),
        _id("step_run_id", nullable=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_metrics_run_id_runs"),
        sa.ForeignKeyConstraint(
            ["step_run_id"], ["step_runs.id"], name="fk_metrics_step_run_id_step_runs"
        ),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_metrics_run_id_key", "metrics", ["run_id", "key"])
    op.create_index("ix_metrics_step_run_id", "metrics", ["step_run_id"])

    op.create_table(
        "metadata_entries",
        sa.Column("entity", sa.String(16), nullable=False),
        _id("entity_id", nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", _text(), nullable=True),
        sa.Column("created", _dt(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "entity_id", "key", name="pk_metadata_entries"),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    for table in (
        "metadata_entries",
        "metrics",
        "lineage",
        "artifacts",
        "step_runs",
        "runs",
        "pipelines",
    ):
        op.drop_table(table)
