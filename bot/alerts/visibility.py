"""Who sees what: one rule for every place 411 shows something about an alert or a search.

What an alert holds (who logged in where, which address scraped what) is sensitive, so
no person learns an alert's content from 411 that they could not see in its channel:

- **An alert** is seen by whoever may act on it (``bot/alerts/permissions.py``): admins,
  its search's owner, the people its search's ``restricted_to`` names (when set), else the
  members of the channel it was posted to. An alert posted nowhere: owner and admins.
- **A search** (its definition, runs, name in lists): its owner, admins, and whoever may
  see its alerts.
- **A channel** (the digest posted there): only what every member of the channel may
  see: the searches that post their alerts to that channel and are not restricted.

Lists, App Home, ``search show``, the digest, suppressions and assignments all ask here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.permissions import Directory, is_admin, may_act_on_alert, may_act_on_search
from bot.config import Settings
from bot.definitions import store as search_store
from bot.errors import NotFound
from bot.models import Alert, Search
from bot.text.escape import code


@dataclass(frozen=True)
class Viewer:
    """A person looking at 411, with what it takes to decide what they may see."""

    settings: Settings
    directory: Directory
    user_id: str

    @property
    def is_admin(self) -> bool:
        return is_admin(self.settings, self.directory, self.user_id)

    def may_see_alert(self, alert: Alert, search: Search | None) -> bool:
        return may_act_on_alert(self.settings, self.directory, self.user_id, search, alert)

    def may_see_search(self, search: Search) -> bool:
        if search.owner == self.user_id:
            return True
        return may_act_on_search(self.settings, self.directory, self.user_id, search)

    def alerts(self, rows: Iterable[Any]) -> list[tuple[Alert, Search]]:
        """The ``(alert, search)`` rows this person may see, in their order."""
        return [(alert, search) for alert, search in rows if self.may_see_alert(alert, search)]

    def searches(self, searches: Iterable[Search]) -> list[Search]:
        return [search for search in searches if self.may_see_search(search)]

    def search_ids(self, session: Session) -> list[int]:
        """Every search (deleted ones too: their alerts stay) this person may see."""
        return [s.id for s in self.searches(session.scalars(select(Search).order_by(Search.id)))]

    def find_search(self, session: Session, ref: str) -> Search:
        """The live search ``ref`` names, if this person may see it. Otherwise the same
        NotFound as for a search that does not exist: an outsider learns not even that
        the name is taken. (The typed ref is echoed escaped, in code.)"""
        try:
            search = search_store.find_search(session, ref)
        except NotFound:
            search = None
        if search is None or not self.may_see_search(search):
            raise NotFound(f"No search with id or name {code(ref, 100)}. See `/411 search list`.")
        return search


def channel_search_ids(
    session: Session, channel: str, settings: Settings, directory: Directory | None
) -> list[int]:
    """The searches whose alerts every member of ``channel`` may see; a digest posted there
    counts only these.

    Always the unrestricted searches that post to the channel itself. With a directory
    (Slack), also every search each member may see otherwise (a digest channel whose
    people all sit in #alerts counts #alerts). Members unknown: nothing more.
    """
    searches = list(session.scalars(select(Search).order_by(Search.id)))
    own = {s.id for s in searches if s.channel == channel and not s.restricted_to}
    readers = directory.channel_members(channel) if directory is not None else frozenset()
    if directory is None or not readers:
        return sorted(own)
    shared = {
        s.id
        for s in searches
        if all(may_act_on_search(settings, directory, reader, s) for reader in readers)
    }
    return sorted(own | shared)
