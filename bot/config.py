"""Configuration from the environment (12-factor), with an optional ``.env`` file.

Everything the bot needs to know about its surroundings is read here once, into
an immutable :class:`Settings`. The exceptions: `411 dev` builds its own settings
from the environment (``bot/cli/dev_stack.py``), and a source's config may name an
environment variable holding a secret (``searches/common.py``), and the ``411``
command reads ``LOG_FORMAT`` (through :func:`log_format`) before anything else.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigurationError
from searches.cluster_product import Product, parse_product

DEFAULT_DATABASE_URL = "sqlite:///411.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# ELASTICSEARCH_KIBANA_URL is the default cluster's Kibana, not a cluster named "kibana".
_CLUSTER_VAR = re.compile(r"^ELASTICSEARCH(?:_(?!KIBANA_URL$)(?P<name>[A-Z0-9]+))?_URL$")


class Mode(enum.StrEnum):
    """How the bot talks to Slack."""

    HTTP = "http"  # `411 serve`: Slack posts signed requests to us
    SOCKET = "socket"  # `411 socket`: we hold a websocket to Slack
    DEV = "dev"  # `411 dev`: the local Slack stand-in


@dataclass(frozen=True)
class ClusterConfig:
    """One named Elasticsearch or OpenSearch cluster."""

    name: str
    url: str
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    verify_certs: bool = True
    kibana_url: str | None = None  # Kibana / OpenSearch Dashboards: alerts link to Discover
    # The pySigma processing pipeline that names fields the way this cluster's logs do
    # ("ecs_windows", "none", ...); `411 import sigma --cluster NAME` uses it.
    sigma_pipeline: str | None = None
    product: Product | None = None  # None: asked once from the cluster (searches.es_client)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    clusters: Mapping[str, ClusterConfig] = field(default_factory=dict)
    admins: tuple[str, ...] = ()  # Slack user IDs (U...) or user group IDs (S...)
    timezone: str = "UTC"
    host: str = "0.0.0.0"
    port: int = 3000
    public_url: str | None = None  # where users reach the bot, for links in messages
    thread_replies: bool = True  # post a short thread reply for every alert action
    burst_threshold: int = 5  # more new alerts than this in one run -> one summary post
    http_allow_hosts: tuple[str, ...] = ()  # the http source may reach only these, if set
    http_deny_private: bool = True  # the http source may not reach loopback/private/metadata
    http_deny_hosts: tuple[str, ...] = ()  # the http source may never reach these
    file_source_roots: tuple[str, ...] = ()  # the file source reads only below these, if set
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object per line
    # Deliveries: retried with capped exponential backoff until older than the horizon.
    delivery_base_backoff: float = 2.0
    delivery_max_backoff: float = 300.0
    delivery_give_up_after: float = 86400.0
    # The worker's operations endpoint: /metrics, /livez, /readyz (0: none).
    ops_port: int = 9411
    ready_max_backlog_age: float = 900.0  # /readyz fails when the oldest due post is older

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> Settings:
    """Read settings from ``environ`` (default: the process environment plus ``.env``)."""
    if environ is None:
        if env_file and Path(env_file).is_file():
            from dotenv import load_dotenv

            load_dotenv(env_file, override=False)
        environ = os.environ
    settings = Settings(
        database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        slack_bot_token=environ.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=environ.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=environ.get("SLACK_APP_TOKEN") or None,
        slack_api_url=_with_trailing_slash(environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
        clusters=_clusters(environ),
        admins=_csv(environ.get("ADMINS", "")),
        timezone=environ.get("TIMEZONE") or environ.get("TZ_DEFAULT") or "UTC",
        host=environ.get("HOST") or "0.0.0.0",
        port=_int(environ, "PORT", 3000, low=1, high=65535),
        public_url=environ.get("PUBLIC_URL") or None,
        thread_replies=_bool(environ, "THREAD_REPLIES", True),
        burst_threshold=_int(environ, "BURST_THRESHOLD", 5, low=1),
        http_allow_hosts=_csv(environ.get("HTTP_SOURCE_ALLOW_HOSTS", "")),
        http_deny_private=_bool(environ, "HTTP_SOURCE_DENY_PRIVATE", True),
        http_deny_hosts=_csv(environ.get("HTTP_SOURCE_DENY_HOSTS", "")),
        file_source_roots=_csv(environ.get("FILE_SOURCE_ROOTS", "")),
        log_level=_log_level(environ),
        log_format=log_format(environ),
        delivery_base_backoff=_float(environ, "DELIVERY_BASE_BACKOFF", 2.0, low=0.01),
        delivery_max_backoff=_float(environ, "DELIVERY_MAX_BACKOFF", 300.0, low=0.01),
        delivery_give_up_after=_float(environ, "DELIVERY_GIVE_UP_AFTER", 86400.0, low=1.0),
        ops_port=_int(environ, "OPS_PORT", 9411, low=0, high=65535),
        ready_max_backlog_age=_float(environ, "READY_MAX_BACKLOG_AGE", 900.0, low=1.0),
    )
    _check_timezone(settings.timezone)
    return settings


def _clusters(environ: Mapping[str, str]) -> dict[str, ClusterConfig]:
    """``ELASTICSEARCH_URL`` defines cluster "default"; ``ELASTICSEARCH_<NAME>_URL`` others.

    Each cluster's other settings share its prefix: ``..._API_KEY``, ``..._USERNAME``,
    ``..._PASSWORD``, ``..._CA_FILE``, ``..._VERIFY_CERTS``, ``..._KIBANA_URL`` (its Kibana
    or OpenSearch Dashboards, for "Open in Discover" links), ``..._SIGMA_PIPELINE``,
    ``..._PRODUCT``.
    """
    clusters: dict[str, ClusterConfig] = {}
    for var, value in environ.items():
        match = _CLUSTER_VAR.match(var)
        if not match or not value:
            continue
        raw_name = match.group("name")
        prefix = f"ELASTICSEARCH_{raw_name}_" if raw_name else "ELASTICSEARCH_"
        name = raw_name.lower() if raw_name else "default"
        clusters[name] = ClusterConfig(
            name=name,
            url=value,
            api_key=environ.get(prefix + "API_KEY") or None,
            username=environ.get(prefix + "USERNAME") or None,
            password=environ.get(prefix + "PASSWORD") or None,
            ca_file=environ.get(prefix + "CA_FILE") or None,
            verify_certs=_bool(environ, prefix + "VERIFY_CERTS", True),
            kibana_url=environ.get(prefix + "KIBANA_URL") or None,
            sigma_pipeline=environ.get(prefix + "SIGMA_PIPELINE") or None,
            product=_product(environ, prefix + "PRODUCT"),
        )
    return dict(sorted(clusters.items()))


def _product(environ: Mapping[str, str], name: str) -> Product | None:
    try:
        return parse_product(environ.get(name) or "")
    except ValueError as exc:
        raise ConfigurationError(f"{name} {exc}") from None


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(
    environ: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigurationError(f"{name} must be {allowed}, not {value}")
    return value


def _float(environ: Mapping[str, str], name: str, default: float, *, low: float) -> float:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < low:
        raise ConfigurationError(f"{name} must be at least {low:g}, not {value:g}")
    return value


def log_format(environ: Mapping[str, str]) -> str:
    value = (environ.get("LOG_FORMAT") or "text").strip().lower()
    if value not in ("text", "json"):
        raise ConfigurationError(f"LOG_FORMAT must be text or json, not {value!r}")
    return value


def _log_level(environ: Mapping[str, str]) -> str:
    level = (environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return level


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _with_trailing_slash(url: str) -> str:
    # WebClient joins method names with urljoin: without the slash the last segment is lost.
    return url if url.endswith("/") else url + "/"


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"TIMEZONE {name!r} is not a known IANA time zone") from None
