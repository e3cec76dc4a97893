"""The tables of the service database before Alembic: the app directory, thumbnails and their uses,
and the secret marks of version 1 specs.

A database made by an earlier release (``create_all``, no ``alembic_version``) already has them: each
table is made only where it is missing, so that database is taken over as it is and stamped.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("hubapps_directory"):
        op.create_table(
            "hubapps_directory",
            sa.Column("owner", sa.String(255), primary_key=True),
            sa.Column("server", sa.String(255), primary_key=True),
            sa.Column("display_name", sa.String(255), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("framework", sa.String(64), nullable=False),
            sa.Column("thumbnail", sa.String(200), nullable=False),
            sa.Column("public", sa.Boolean, nullable=False),
        )
    if _missing("hubapps_thumbnails"):
        op.create_table(
            "hubapps_thumbnails",
            sa.Column("ref", sa.String(80), primary_key=True),
            sa.Column("content_type", sa.String(32), nullable=False),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Column("width", sa.Integer, nullable=False),
            sa.Column("height", sa.Integer, nullable=False),
            sa.Column("created", sa.Float, nullable=False),
        )
    if _missing("hubapps_thumbnail_uses"):
        op.create_table(
            "hubapps_thumbnail_uses",
            sa.Column("owner", sa.String(255), primary_key=True),
            sa.Column("server", sa.String(255), primary_key=True),
            sa.Column("ref", sa.String(80), nullable=False),
        )
        op.create_index("ix_hubapps_thumbnail_uses_ref", "hubapps_thumbnail_uses", ["ref"])
    if _missing("hubapps_secret_env"):
        op.create_table(
            "hubapps_secret_env",
            sa.Column("owner", sa.String(255), primary_key=True),
            sa.Column("server", sa.String(255), primary_key=True),
            sa.Column("name", sa.String(128), primary_key=True),
        )


def downgrade() -> None:
    for name in ("hubapps_secret_env", "hubapps_thumbnail_uses", "hubapps_thumbnails", "hubapps_directory"):
        op.drop_table(name)
