"""``411 db upgrade | downgrade | current``."""

from __future__ import annotations

import argparse
from typing import Any

from bot import migrate
from bot.config import load_settings
from bot.db import check_connection, make_engine, safe_url


def register(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="manage the database schema")
    commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)

    upgrade = commands.add_parser("upgrade", help="apply migrations (default: to the newest)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_upgrade)

    downgrade = commands.add_parser("downgrade", help="revert migrations to REVISION")
    downgrade.add_argument("revision")
    downgrade.set_defaults(handler=_downgrade)

    current = commands.add_parser("current", help="show the schema revision of the database")
    current.set_defaults(handler=_current)


def _connected_url() -> str:
    url = load_settings().database_url
    check_connection(make_engine(url))  # a one-line error instead of an Alembic traceback
    return url


def _upgrade(args: argparse.Namespace) -> int:
    url = _connected_url()
    migrate.upgrade(url, args.revision)
    print(f"{safe_url(url)} is at revision {migrate.current_revision(make_engine(url))}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    url = _connected_url()
    migrate.downgrade(url, args.revision)
    print(f"{safe_url(url)} is at revision {migrate.current_revision(make_engine(url)) or 'base'}")
    return 0


def _current(_args: argparse.Namespace) -> int:
    url = _connected_url()
    current, head = migrate.current_revision(make_engine(url)), migrate.head_revision()
    state = "up to date" if current == head else f"behind: run `411 db upgrade` (head is {head})"
    print(f"{safe_url(url)}: revision {current or 'none'}, {state}")
    return 0 if current == head else 1
