"""Alembic's environment for the service database: run on the connection :func:`hubapps.service.db.upgrade`
hands over (``config.attributes["connection"]``), never from an ``alembic.ini`` or the environment."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
