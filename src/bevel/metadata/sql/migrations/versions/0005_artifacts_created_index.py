"""An index on artifacts(created): ``bevel artifacts list`` (newest first) without a full scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Before it, listing artifacts read the whole table and sorted it (SQLite's plan: ``SCAN
artifacts`` + ``USE TEMP B-TREE FOR ORDER BY``); with it, a page reads only its rows.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_artifacts_created", "artifacts", ["created"])


def downgrade() -> None:
    op.drop_index("ix_artifacts_created", table_name="artifacts")
