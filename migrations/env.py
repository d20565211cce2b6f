"""Alembic environment: the URL comes from the app settings, the metadata from models/."""
from __future__ import annotations

from alembic import context

import models
from bot.core.config import load_settings
from bot.core.db import make_engine

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or load_settings().database_url
target_metadata = models.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
