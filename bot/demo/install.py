"""Put the demo into a database: its searches (over the generator's log) and a digest.

Idempotent: run at every `411 dev` start, it creates the demo searches that are missing.
One that exists keeps what people changed in it (in Slack or by import); only its log
path is moved when the log lives elsewhere now (a revision, like any edit). Other
searches are never touched.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import select

from bot.definitions.search import SearchDefinition, definition_from_search
from bot.definitions.store import create_search, find_search_by_name, update_search
from bot.definitions.yaml_files import read_file, yaml_files
from bot.errors import BotError
from bot.models import DigestSubscription
from bot.runtime import Runtime

SEARCHES_DIR = Path(__file__).parent / "searches"
DEMO_OWNER = "U_ALICE"
DEMO_CHANNEL = "C_ALERTS"
DEMO_DIGEST_CHANNEL = "C_DIGEST"
REASON = "411 dev: demo search"


def demo_definitions(events_path: Path) -> list[SearchDefinition]:
    """The demo searches, reading ``events_path`` (and its rotated ``.1``)."""
    found: list[SearchDefinition] = []
    pattern = str(events_path.resolve()) + "*"
    for path in yaml_files([SEARCHES_DIR]):
        result = read_file(path)
        if result.problems:
            raise BotError("the demo searches are broken: " + "; ".join(result.problems))
        for defn in result.definitions:
            config = {**defn.source_config, "path": pattern}
            found.append(
                dataclasses.replace(
                    defn, source_config=config, owner=DEMO_OWNER, channel=DEMO_CHANNEL
                )
            )
    return found


def install_demo(runtime: Runtime, events_path: Path) -> list[str]:
    """Create or update the demo searches and the #digest subscription; returns the names."""
    definitions = demo_definitions(events_path)
    with runtime.sessions() as session, session.begin():
        for defn in definitions:
            existing = find_search_by_name(session, defn.name)
            if existing is None:
                create_search(session, defn, DEMO_OWNER, REASON)
                continue
            current = definition_from_search(existing)
            if current.source_config.get("path") != defn.source_config["path"]:
                config = {**current.source_config, "path": defn.source_config["path"]}
                moved = dataclasses.replace(current, source_config=config)
                update_search(session, existing, moved, DEMO_OWNER, "411 dev: the demo log moved")
        subscribed = session.scalar(
            select(DigestSubscription).where(DigestSubscription.channel == DEMO_DIGEST_CHANNEL)
        )
        if subscribed is None:
            session.add(
                DigestSubscription(
                    channel=DEMO_DIGEST_CHANNEL,
                    timezone=runtime.settings.timezone,
                    created_by=DEMO_OWNER,
                )
            )
    return [d.name for d in definitions]
