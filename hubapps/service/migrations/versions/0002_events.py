"""App events: the audit record and usage counts (``hubapps_events``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hubapps_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("server", sa.String(255), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_hubapps_events_app", "hubapps_events", ["owner", "server", "at"])
    op.create_index("ix_hubapps_events_at", "hubapps_events", ["at"])
    op.create_index("ix_hubapps_events_actor", "hubapps_events", ["actor"])


def downgrade() -> None:
    op.drop_table("hubapps_events")
