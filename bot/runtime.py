"""What every process (web, worker, dev, CLI) shares: settings, database, Slack client."""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk import WebClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import migrate
from bot.config import Settings, load_settings
from bot.db import check_connection, make_engine, session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)

    @classmethod
    def start(cls, settings: Settings | None = None, *, auto_upgrade: bool = False) -> Runtime:
        """Connect and check the schema; refuse to run on a database that is behind.

        ``auto_upgrade`` (dev mode) applies the migrations instead of refusing.
        """
        settings = settings or load_settings()
        engine = make_engine(settings.database_url)
        check_connection(engine)
        if auto_upgrade:
            migrate.upgrade_engine(engine)
        migrate.ensure_current(engine)
        return cls(settings=settings, engine=engine)

    def slack_client(self) -> WebClient:
        # The base URL is a setting, so the same bot talks to Slack or to the local stand-in.
        # Every call is counted for /metrics (by method and outcome).
        from bot.metrics import CountingWebClient

        return CountingWebClient(
            token=self.settings.slack_bot_token, base_url=self.settings.slack_api_url
        )
