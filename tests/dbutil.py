"""Test databases: one migrated and seeded template per run, a fresh copy per test.

The backend comes from FANGXIN_TEST_DATABASE_URL (a PostgreSQL server URL,
any database on it; default: SQLite files). With FANGXIN_REQUIRE_POSTGRES=1
a PostgreSQL that cannot be reached is an error, never a skip.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bot.core import migrate
from bot.core.config import normalise_database_url
from bot.core.db import Database

SERVER_URL = os.environ.get("FANGXIN_TEST_DATABASE_URL") or ""
BACKEND = "postgresql" if SERVER_URL.startswith("postgres") else "sqlite"


def _pg_admin_dsn() -> str:
    url = make_url(normalise_database_url(SERVER_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url_for(name: str) -> str:
    return make_url(normalise_database_url(SERVER_URL)).set(database=name).render_as_string(hide_password=False)


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(sql)


def seed_database(url: str) -> None:
    from bot.seed import seed

    db = Database(url)
    try:
        with db.session() as session:
            seed(session)
    finally:
        db.dispose()


class TestDatabases:
    """Creates empty, template and per-test databases on the chosen backend."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []
        self.run = uuid.uuid4().hex[:8]
        self.template: str | None = None

    def empty(self) -> str:
        """A URL of a brand-new empty database."""
        name = f"fx_{self.run}_{len(self.created)}"
        if BACKEND == "postgresql":
            _pg_exec(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            return _pg_url_for(name)
        path = self.workdir / f"{name}.db"
        self.created.append(str(path))
        return f"sqlite:///{path}"

    def template_url(self) -> str:
        if self.template is None:
            url = self.empty()
            migrate.upgrade(url)
            seed_database(url)
            self.template = url
        return self.template

    def fresh(self) -> str:
        """A migrated, seeded database of its own, copied from the template."""
        template = self.template_url()
        name = f"fx_{self.run}_{len(self.created)}"
        if BACKEND == "postgresql":
            tpl_name = make_url(template).database
            _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{tpl_name}"')
            self.created.append(name)
            return _pg_url_for(name)
        src = Path(make_url(template).database)
        with sqlite3.connect(src) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dst = self.workdir / f"{name}.db"
        shutil.copyfile(src, dst)
        self.created.append(str(dst))
        return f"sqlite:///{dst}"

    def drop_all(self) -> None:
        if BACKEND != "postgresql":
            return
        for name in self.created:
            try:
                _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except psycopg.Error:
                pass


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
