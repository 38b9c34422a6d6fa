"""The models and the migrations agree, on SQLite and on Postgres, both ways."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot import migrate
from bot.db import make_engine
from bot.errors import SchemaBehindError
from bot.models import Base


def _differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_it_finds_no_difference_between_models_and_migrations(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    assert _differences(empty_db_url) == []


def test_it_downgrades_to_base_and_upgrades_again(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    migrate.downgrade(empty_db_url, "base")
    engine = make_engine(empty_db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_it_refuses_a_database_that_is_behind_and_names_the_command(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    with pytest.raises(SchemaBehindError, match="411 db upgrade"):
        migrate.ensure_current(engine)
    engine.dispose()


def test_it_accepts_a_database_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.ensure_current(engine)  # raises if not current
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
