"""`411 dev`: the whole product in one process, with no Slack workspace and no Elasticsearch.

It starts, in order: the local Slack stand-in (its page is the Slack client), a SQLite
database brought up to date, the bot in HTTP mode (waitress serving the same WSGI app as
`411 serve`) pointed at the stand-in with a generated token and signing secret, the demo
(an event generator and searches over its log, owned by alice and posting to #alerts,
and #digest subscribed to the digest), then the scheduler, the delivery loop and the
digest scheduler. Nothing in the bot knows it talks to a stand-in: only the settings
differ (`SLACK_API_URL`, token, secret).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot.config import Settings, load_settings
from bot.db import safe_url
from bot.demo.generator import DemoGenerator
from bot.demo.install import DEMO_CHANNEL, DEMO_DIGEST_CHANNEL, DEMO_OWNER, install_demo
from bot.demo.scenario import Timing
from bot.errors import BotError
from bot.runtime import Runtime
from searches.db_url import normalise_url
from standin import SlackStandIn
from standin.persist import StateFileError

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///411-dev.db"
DEFAULT_DATA_DIR = Path("411-dev-data")
DEFAULT_PORT = 8411


class Service(Protocol):
    def start(self) -> Any: ...
    def stop(self) -> Any: ...


@dataclass
class DevOptions:
    port: int = DEFAULT_PORT  # the stand-in's page and Web API; 0 picks a free port
    bot_port: int = 0  # the bot's HTTP endpoint; 0 picks a free port
    host: str = "127.0.0.1"
    database_url: str | None = None  # default: DATABASE_URL, else ./411-dev.db
    data_dir: Path = DEFAULT_DATA_DIR
    demo: bool = True
    timing: Timing | None = None
    seed: int | None = None


@dataclass
class DevStack:
    """Everything `411 dev` runs; `start()` then `stop()`. Tests run it in-process."""

    options: DevOptions = field(default_factory=DevOptions)
    environ: Mapping[str, str] | None = None
    standin: SlackStandIn | None = None
    runtime: Runtime | None = None
    generator: DemoGenerator | None = None
    bot_url: str = ""
    services: list[tuple[str, Service]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    _web: Any = None
    _web_thread: threading.Thread | None = None

    @property
    def page_url(self) -> str:
        assert self.standin is not None
        return self.standin.url

    @property
    def events_path(self) -> Path:
        return self.options.data_dir / "events.jsonl"

    @property
    def standin_state_path(self) -> Path:
        return self.options.data_dir / "standin.json"

    def start(self) -> DevStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        opts = self.options
        token, secret = f"xoxb-dev-{secrets.token_hex(12)}", secrets.token_hex(16)
        try:
            # The workspace outlives the process, like the database that points into it.
            self.standin = SlackStandIn(
                secret, token, None, opts.host, opts.port, state_path=self.standin_state_path
            )
        except StateFileError as exc:
            raise BotError(str(exc)) from None
        try:
            self.standin.start()
        except OSError as exc:
            raise BotError(
                f"cannot listen on {opts.host}:{opts.port} ({exc.strerror}): pass --port"
            ) from None
        settings = self._settings(token, secret)
        self.runtime = Runtime.start(settings, auto_upgrade=True)
        self._start_web()
        if opts.demo:
            self.generator = DemoGenerator(self.events_path, timing=opts.timing, seed=opts.seed)
            self.generator.prepare()  # backfill first, so the searches' first runs find data
            install_demo(self.runtime, self.events_path)
        for name, module, attr in (
            ("scheduler", "bot.runs.worker", "Worker"),
            ("delivery loop", "bot.deliveries.loop", "DeliveryLoop"),
            ("digest scheduler", "bot.digest.scheduler", "DigestScheduler"),
        ):
            self._start_service(name, module, attr)
        if self.generator is not None:
            self.generator.start()
            self.services.append(("demo generator", self.generator))

    def _settings(self, token: str, secret: str) -> Settings:
        assert self.standin is not None
        base = load_settings(self.environ, env_file=None if self.environ is not None else ".env")
        database_url = self.options.database_url or (
            base.database_url if _env_has_database(self.environ) else DEFAULT_DATABASE_URL
        )
        # Never real credentials: the generated ones are the stand-in's.
        return dataclasses.replace(
            base,
            database_url=database_url,
            slack_bot_token=token,
            slack_signing_secret=secret,
            slack_app_token=None,
            slack_api_url=self.standin.api_url,
            admins=tuple(dict.fromkeys((DEMO_OWNER, *base.admins))),
            public_url=self.standin.url,
            host=self.options.host,
        )

    def _start_web(self) -> None:
        from waitress.server import create_server

        assert self.standin is not None and self.runtime is not None
        try:
            from bot.slack.web import build_wsgi_app
        except ImportError as exc:
            log.warning("411 dev: no bot web app (bot.slack.web.build_wsgi_app): %s", exc)
            self.missing.append("bot (HTTP)")
            return
        app = build_wsgi_app(self.runtime)
        self._web = create_server(
            app, host=self.options.host, port=self.options.bot_port, threads=8
        )
        port = self._web.effective_port
        self.bot_url = f"http://{self.options.host}:{port}/slack/events"
        self._web_thread = threading.Thread(target=self._web.run, name="dev-web", daemon=True)
        self._web_thread.start()
        self.standin.set_bot_url(self.bot_url)

    def _start_service(self, name: str, module_name: str, attr: str) -> None:
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            # Lets `411 dev` run while a part is being built; the banner says what is missing.
            log.warning("411 dev: no %s (%s.%s): %s", name, module_name, attr, exc)
            self.missing.append(name)
            return
        service = factory(self.runtime)
        service.start()
        self.services.append((name, service))

    def stop(self) -> None:
        """Stop in reverse order of start; each part is stopped even if another fails."""
        for name, service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("411 dev: stopping the %s failed", name)
        self.services.clear()
        if self._web is not None:
            self._web.close()
            self._web = None
        if self._web_thread is not None:
            self._web_thread.join(timeout=5)
            self._web_thread = None
        if self.standin is not None:
            self.standin.stop()
        if self.runtime is not None:
            self.runtime.engine.dispose()

    def banner(self) -> str:
        assert self.runtime is not None
        lines = [
            "",
            "411 dev is running: the whole product, with a local stand-in for Slack.",
            "",
            f"  Open the Slack stand-in:  {self.page_url}",
            "",
            f"  bot (HTTP mode)           {self.bot_url}",
            f"  Web API (stand-in)        {self.runtime.settings.slack_api_url}",
            f"  database                  {safe_url(self.runtime.engine)}",
            f"  Slack workspace (saved)   {self.standin_state_path}",
        ]
        if self.generator is not None:
            lines.append(f"  demo events               {self.events_path}")
            lines.append(
                f"  demo searches             owned by alice, posting to #alerts ({DEMO_CHANNEL}); "
                f"#digest ({DEMO_DIGEST_CHANNEL}) gets the digest"
            )
        if self.missing:
            lines.append(f"  NOT RUNNING (not built yet): {', '.join(self.missing)}")
        lines += ["", "  Type /411 help in the page's message box. Ctrl-C stops everything.", ""]
        return "\n".join(lines)


def database_url_option(value: str) -> str:
    """`--db`: a database URL, or a plain file path for a SQLite database there.

    Checked here so a bad value is named as `--db` (not DATABASE_URL) before anything starts.
    """
    value = value.strip()
    if not value:
        raise BotError("--db is empty: give a database URL or a file path")
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    try:
        make_url(normalise_url(value)).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise BotError(
            f"--db {value!r} is neither a usable database URL nor a file path: {exc}"
        ) from None
    return value


def _env_has_database(environ: Mapping[str, str] | None) -> bool:
    source = os.environ if environ is None else environ
    return bool(source.get("DATABASE_URL"))
