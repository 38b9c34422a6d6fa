"""Alembic, driven from code: upgrade, downgrade, and "is the schema current?"."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.db import make_engine, safe_url
from bot.errors import SchemaBehindError
from searches.db_url import normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in passwords would be read as interpolation by ConfigParser.
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Refuse to run on a schema older (or newer) than the code, naming the fix."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaBehindError(
            f"the database {safe_url(engine)} is at schema revision {current or 'none'}, "
            f"the code needs {head}: run `411 db upgrade`"
        )


def upgrade_engine(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` (dev mode does this by itself)."""
    upgrade(engine.url.render_as_string(hide_password=False))


__all__ = ["downgrade", "ensure_current", "head_revision", "make_engine", "upgrade"]
