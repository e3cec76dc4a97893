"""Failure memory: the last runs of each app, as their proxies reported them (``hubapps_runs``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hubapps_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("server", sa.String(255), nullable=False),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ready_after", sa.Float, nullable=True),
        sa.Column("source_sha256", sa.String(64), nullable=True),
        sa.Column("source_commit", sa.String(64), nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("log_tail", sa.Text, nullable=False),
    )
    op.create_index("ix_hubapps_runs_run", "hubapps_runs", ["owner", "server", "run"], unique=True)
    op.create_index("ix_hubapps_runs_started", "hubapps_runs", ["started_at"])


def downgrade() -> None:
    op.drop_table("hubapps_runs")
