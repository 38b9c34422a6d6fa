"""``411 config check``: the effective configuration, secrets masked, and what is missing.

It also reaches each configured cluster and prints the product and version it
answers as, or why it cannot be reached; either problem makes the check fail.
"""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import ClusterConfig, Mode, Settings, load_settings
from bot.db import safe_url
from bot.definitions.redact import mask_secret, mask_url
from searches.base import SourceError
from searches.cluster_client import ClusterRequestError
from searches.es_client import cluster_info


def register(subparsers: Any) -> None:
    config = subparsers.add_parser("config", help="inspect the configuration")
    commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = commands.add_parser(
        "check", help="print the effective configuration and reach each search cluster"
    )
    check.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        help="exit non-zero if this mode cannot start",
    )
    check.set_defaults(handler=_check)


def mask(secret: str | None) -> str:
    """No character of a secret; only a Slack token's kind prefix (xoxb-, xapp-) and length."""
    return mask_secret(secret)


def missing_for(mode: Mode, settings: Settings) -> list[str]:
    """The settings a mode needs that are not set, each with the variable to set."""
    needs: dict[Mode, list[tuple[str, str | None]]] = {
        Mode.HTTP: [
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
        ],
        Mode.SOCKET: [
            ("SLACK_BOT_TOKEN", settings.slack_bot_token),
            ("SLACK_APP_TOKEN", settings.slack_app_token),
        ],
        Mode.DEV: [],  # the local stand-in makes its own token and secret
    }
    return [name for name, value in needs[mode] if not value]


def render(settings: Settings) -> list[str]:
    lines = [
        f"DATABASE_URL          {safe_url(settings.database_url)}",
        f"SLACK_API_URL         {mask_url(settings.slack_api_url)}",
        f"SLACK_BOT_TOKEN       {mask(settings.slack_bot_token)}",
        f"SLACK_SIGNING_SECRET  {mask(settings.slack_signing_secret)}",
        f"SLACK_APP_TOKEN       {mask(settings.slack_app_token)}",
        f"ADMINS                {', '.join(settings.admins) or '(none)'}",
        f"TIMEZONE              {settings.timezone}",
        f"HOST:PORT             {settings.host}:{settings.port}",
        f"PUBLIC_URL            {mask_url(settings.public_url) if settings.public_url else '(not set)'}",
        f"THREAD_REPLIES        {'on' if settings.thread_replies else 'off'}",
        f"BURST_THRESHOLD       {settings.burst_threshold}",
        f"LOG_LEVEL             {settings.log_level}",
        f"HTTP source           allow {', '.join(settings.http_allow_hosts) or '(any public host)'}"
        f"; deny {', '.join(settings.http_deny_hosts) or '(none extra)'}"
        f"; private/loopback {'refused' if settings.http_deny_private else 'allowed'}",
        f"FILE_SOURCE_ROOTS     {', '.join(settings.file_source_roots) or '(anywhere)'}",
    ]
    if not settings.clusters:
        lines.append("ELASTICSEARCH         (no cluster configured)")
    for cluster in settings.clusters.values():
        auth = (
            "api key"
            if cluster.api_key
            else f"user {cluster.username}"
            if cluster.username
            else "no auth"
        )
        tls = f"CA {cluster.ca_file}" if cluster.ca_file else f"verify={cluster.verify_certs}"
        sigma = f", Sigma pipeline {cluster.sigma_pipeline}" if cluster.sigma_pipeline else ""
        product = cluster.product or "product detected"
        lines.append(
            f"ELASTICSEARCH[{cluster.name}] {mask_url(cluster.url)} ({auth}, {tls}, {product}{sigma})"
        )
    return lines


def reach_cluster(cluster: ClusterConfig) -> tuple[str, bool]:
    """One line on what the cluster answers as (product and version), and whether all is well."""
    name = f"cluster {cluster.name}:"
    try:
        info = cluster_info(cluster)
    except ClusterRequestError as exc:
        reason = exc.message if not exc.answered else f"HTTP {exc.status}: {exc.message}"
        return f"{name} UNREACHABLE ({mask_url(cluster.url)}): {reason}", False
    except SourceError as exc:  # e.g. its CA file is missing
        return f"{name} MISCONFIGURED: {exc}", False
    answered = f"{info.product.display_name} {info.version or '(version not disclosed)'}"
    if cluster.product is not None and cluster.product is not info.product:
        return f"{name} configured as {cluster.product} but answers as {answered}", False
    return f"{name} {answered}", True


def _check(args: argparse.Namespace) -> int:
    settings = load_settings()
    for line in render(settings):
        print(line)
    print()
    ok = True
    for cluster in settings.clusters.values():
        line, reached = reach_cluster(cluster)
        print(line, flush=True)
        ok = ok and reached
    if settings.clusters:
        print()
    for mode in Mode:
        missing = missing_for(mode, settings)
        if missing:
            print(f"{mode.value} mode: cannot start, missing {', '.join(missing)}")
            ok = ok and args.mode != mode.value
        else:
            print(f"{mode.value} mode: ready")
    return 0 if ok else 1
