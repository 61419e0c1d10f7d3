"""Alembic environment: the hall's metadata; custom column types render as their storage."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.types import TypeDecorator

import engine.metrics
import engine.models  # noqa: F401
import services.manifest
import services.models  # noqa: F401
from services.db import Base

target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl.__class__.__name__}()"
    return False


def run_migrations_online() -> None:
    connectable = engine_from_config(context.config.get_section(context.config.config_ini_section),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True, render_item=render_item)
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


run_migrations_online()
