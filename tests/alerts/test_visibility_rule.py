"""The visibility rule's channel half (bot/alerts/visibility.py), on SQLite and Postgres:
a digest posted in a channel counts only searches every member of it may see."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.alerts.permissions import StaticDirectory
from bot.alerts.visibility import Viewer, channel_search_ids
from bot.config import Settings
from bot.models import Search

SETTINGS = Settings(admins=("U_ADMIN",))
DIRECTORY = StaticDirectory(
    groups={"S_SEC": {"U_ALICE", "U_BOB"}},
    channels={
        "C_ALERTS": {"U_ALICE", "U_BOB", "U_CAROL"},
        "C_DIGEST": {"U_ALICE", "U_BOB"},  # all of them are in #alerts too
        "C_GENERAL": {"U_ALICE", "U_DAVE"},  # Dave is not
    },
)


def _search(db: Session, name: str, channel: str | None, **fields: object) -> int:
    search = Search(name=name, source="file", schedule="every 5m", owner="U_OWNER",
                    channel=channel, **fields)  # fmt: skip
    db.add(search)
    db.flush()
    return search.id


def test_a_channel_counts_what_every_member_may_see(db: Session) -> None:
    alerts = _search(db, "alerts", "C_ALERTS")
    own = _search(db, "own", "C_GENERAL")
    secured = _search(db, "secured", "C_ALERTS", restricted_to=["S_SEC"])
    carols = _search(db, "carol only", "C_ALERTS", restricted_to=["U_CAROL"])
    nowhere = _search(db, "nowhere", None)
    db.commit()
    # Alice and Bob are in #alerts and in S_SEC: their digest counts both, not Carol's.
    assert channel_search_ids(db, "C_DIGEST", SETTINGS, DIRECTORY) == [alerts, secured]
    # Dave is in #general but not in #alerts: only what posts to #general itself.
    assert channel_search_ids(db, "C_GENERAL", SETTINGS, DIRECTORY) == [own]
    # Without a directory (no Slack): the channel's own unrestricted searches only.
    assert channel_search_ids(db, "C_ALERTS", SETTINGS, None) == [alerts]
    assert nowhere not in channel_search_ids(db, "C_ALERTS", SETTINGS, DIRECTORY)
    assert carols not in channel_search_ids(db, "C_ALERTS", SETTINGS, DIRECTORY)


def test_a_person_sees_a_search_they_own_or_may_act_on(db: Session) -> None:
    alerts = _search(db, "alerts", "C_ALERTS")
    secured = _search(db, "secured", "C_ALERTS", restricted_to=["S_SEC"])
    nowhere = _search(db, "nowhere", None)
    db.commit()

    def sees(user: str) -> list[int]:
        return Viewer(SETTINGS, DIRECTORY, user).search_ids(db)

    assert sees("U_CAROL") == [alerts]  # in #alerts, not in S_SEC
    assert sees("U_BOB") == [alerts, secured]
    assert sees("U_DAVE") == []
    assert sees("U_OWNER") == sees("U_ADMIN") == [alerts, secured, nowhere]
