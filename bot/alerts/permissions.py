"""Who may do what: admins, a search's owner, and the people in an alert's channel.

- Admins come from ``settings.admins``: user IDs, or user group IDs (``S...``)
  whose members are looked up with ``usergroups.users.list``.
- A search's owner and admins may edit, enable, disable or delete it.
- Anyone in the alert's channel may act on its alerts, unless the search's
  ``restricted_to`` (user or group IDs) names who may; owner and admins always may.
- Only admins may create, change or test from Slack a search whose source is
  ``privileged`` (it reads the bot host's files or arbitrary databases). The CLI
  is for operators on the host and is not restricted.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import PermissionDenied
from bot.models import Alert, Search
from bot.text.escape import escape_mrkdwn, mention_channel, mention_user
from bot.text.refs import Ref
from searches.registry import load_sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """The person acting, and the channel they acted from (None: App Home, a modal, a DM)."""

    user_id: str
    channel_id: str | None = None


class Directory(Protocol):
    """What the permission rules need to know about the workspace."""

    def group_members(self, group_id: str) -> frozenset[str]: ...

    def in_channel(self, user_id: str, channel_id: str) -> bool: ...

    def channel_members(self, channel_id: str) -> frozenset[str]:
        """The people in a channel (not the bot itself); empty when unknown."""
        ...

    def user_label(self, user_id: str) -> str:
        """How a person is shown in a menu: their name, else their ID."""
        ...


@dataclass
class StaticDirectory:
    """A directory from plain data: the CLI and unit tests, where there is no Slack."""

    groups: dict[str, set[str]] = field(default_factory=dict)
    channels: dict[str, set[str]] = field(default_factory=dict)

    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(group_id, set()))

    def in_channel(self, user_id: str, channel_id: str) -> bool:
        return user_id in self.channels.get(channel_id, set())

    def channel_members(self, channel_id: str) -> frozenset[str]:
        return frozenset(self.channels.get(channel_id, set()))

    def user_label(self, user_id: str) -> str:
        return user_id


class SlackDirectory:
    """Group and channel membership from the Web API, cached for ``ttl`` seconds."""

    def __init__(self, client: WebClient, ttl: float = 60.0) -> None:
        self.client = client
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()
        self._self_id: str | None = None
        self._names: dict[str, str] = {}
        self._names_until = 0.0

    def _get(self, kind: str, ref: str) -> frozenset[str]:
        key = (kind, ref)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
        members = self._load(kind, ref)
        with self._lock:
            self._cache[key] = (time.monotonic() + self.ttl, members)
        return members

    def _load(self, kind: str, ref: str) -> frozenset[str]:
        try:
            if kind == "group":
                return frozenset(self.client.usergroups_users_list(usergroup=ref)["users"] or [])
            members: list[str] = []
            cursor = None
            for _ in range(20):  # 20 pages of 1000: large enough for any alert channel
                page = self.client.conversations_members(channel=ref, cursor=cursor, limit=1000)
                members.extend(page["members"] or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            return frozenset(members)
        except SlackApiError as exc:
            # Unknown group/channel or a missing scope: nobody is a member (fail closed).
            log.warning("cannot list members of %s %s: %s", kind, ref, exc.response.get("error"))
            return frozenset()

    def group_members(self, group_id: str) -> frozenset[str]:
        return self._get("group", group_id)

    def in_channel(self, user_id: str, channel_id: str) -> bool:
        return user_id in self._get("channel", channel_id)

    def channel_members(self, channel_id: str) -> frozenset[str]:
        return self._get("channel", channel_id) - {self._own_user_id()}

    def user_label(self, user_id: str) -> str:
        with self._lock:
            fresh = self._names_until > time.monotonic()
        if not fresh:
            self._load_names()
        return self._names.get(user_id) or user_id

    def _load_names(self) -> None:
        names: dict[str, str] = {}
        try:
            cursor = None
            for _ in range(20):
                page = self.client.users_list(cursor=cursor, limit=1000)
                for member in page["members"] or []:
                    real = member.get("real_name") or ""
                    name = member.get("name") or member["id"]
                    names[member["id"]] = f"{real} (@{name})" if real else f"@{name}"
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError as exc:
            log.warning("cannot list users: %s", exc.response.get("error"))
        with self._lock:
            self._names, self._names_until = names, time.monotonic() + self.ttl

    def _own_user_id(self) -> str:
        """The bot's user: a member of every channel it posts to, and never a reader."""
        if self._self_id is None:
            try:
                self._self_id = str(self.client.auth_test()["user_id"] or "")
            except SlackApiError as exc:
                log.warning("auth.test failed: %s", exc.response.get("error"))
                return ""
        return self._self_id


def _matches(user_id: str, refs: tuple[str, ...] | list[str], directory: Directory) -> bool:
    for ref in refs:
        if ref == user_id:
            return True
        if ref.startswith("S") and user_id in directory.group_members(ref):
            return True
    return False


def is_admin(settings: Settings, directory: Directory, user_id: str) -> bool:
    return _matches(user_id, settings.admins, directory)


def may_manage_search(
    settings: Settings, directory: Directory, user_id: str, search: Search
) -> bool:
    return search.owner == user_id or is_admin(settings, directory, user_id)


def check_manage_search(
    settings: Settings, directory: Directory, actor: Actor, search: Search, what: str
) -> None:
    if not may_manage_search(settings, directory, actor.user_id, search):
        owner = mention_user(search.owner) if search.owner else "nobody"
        raise PermissionDenied(
            f"Only the owner of search *{escape_mrkdwn(search.name)}* ({owner}) or an admin "
            f"may {what} it."
        )


def alert_channel(search: Search | None, alert: Alert) -> str | None:
    return alert.channel or (search.channel if search else None)


def may_act_on_alert(
    settings: Settings, directory: Directory, user_id: str, search: Search | None, alert: Alert
) -> bool:
    """Whether ``user_id`` may act on (and so see) ``alert``."""
    channel = alert_channel(search, alert)
    return _refusal(settings, directory, user_id, search, channel, "") is None


def may_act_on_search(
    settings: Settings, directory: Directory, user_id: str, search: Search
) -> bool:
    """Whether ``user_id`` may act on (and so see) the alerts of ``search``."""
    return _refusal(settings, directory, user_id, search, search.channel, "") is None


def people_who_may_act(
    settings: Settings, directory: Directory, search: Search | None, alert: Alert
) -> list[str]:
    """Everyone who may act on ``alert`` (and so may be assigned it): its channel's members,
    or the people its search's ``restricted_to`` names; its owner; admins."""
    refs = [*settings.admins, *((search.restricted_to or []) if search else [])]
    people = set(_expand(refs, directory))
    channel = alert_channel(search, alert)
    if channel and not (search and search.restricted_to):
        people |= directory.channel_members(channel)
    if search and search.owner:
        people.add(search.owner)
    return sorted(p for p in people if may_act_on_alert(settings, directory, p, search, alert))


def _expand(refs: list[str], directory: Directory) -> set[str]:
    people: set[str] = set()
    for ref in refs:
        people |= directory.group_members(ref) if ref.startswith("S") else {ref}
    return people


def check_alert_action(
    settings: Settings, directory: Directory, actor: Actor, search: Search | None, alert: Alert
) -> None:
    """Raise PermissionDenied unless ``actor`` may act on ``alert``."""
    channel = alert_channel(search, alert)
    _check_act(settings, directory, actor, search, channel, f"alert {Ref.ALERT(alert.id)}")


def check_act_on_search(
    settings: Settings, directory: Directory, actor: Actor, search: Search
) -> None:
    """Whoever may act on a search's alerts may also suppress or unsuppress them."""
    _check_act(settings, directory, actor, search, search.channel, f"search {search.name}")


class SourceNotAllowed(PermissionDenied):
    """A privileged source used by a non-admin; ``field`` puts the error on the source input."""

    field = "source"


def check_source_allowed(
    settings: Settings, directory: Directory, actor: Actor, source_name: str
) -> None:
    """Raise SourceNotAllowed unless ``actor`` may use source ``source_name`` from Slack."""
    source = load_sources().get(source_name)
    if source is None or not source.privileged:
        return  # an unknown source is refused by the definition's own validation
    if not is_admin(settings, directory, actor.user_id):
        raise SourceNotAllowed(
            f"Only admins may create, change or test searches with source `{source_name}`: "
            "it reads the bot host's files or databases. Ask an admin, or use another source."
        )


def _check_act(
    settings: Settings,
    directory: Directory,
    actor: Actor,
    search: Search | None,
    channel: str | None,
    what: str,
) -> None:
    refusal = _refusal(settings, directory, actor.user_id, search, channel, what)
    if refusal is not None:
        raise PermissionDenied(refusal)


def _refusal(
    settings: Settings,
    directory: Directory,
    user: str,
    search: Search | None,
    channel: str | None,
    what: str,
) -> str | None:
    """Why ``user`` may not act here, or None when they may: the one rule for acting and seeing."""
    if is_admin(settings, directory, user) or (search is not None and search.owner == user):
        return None
    restricted = list(search.restricted_to) if search and search.restricted_to else []
    if restricted:
        if _matches(user, restricted, directory):
            return None
        name = escape_mrkdwn(search.name) if search else what
        return (
            f"The alerts of *{name}* are restricted: only the people "
            "it names, its owner and admins may act on them."
        )
    if channel is None:
        # Posted nowhere (the owner hears of it directly): nobody else has seen it.
        return f"Only its search's owner and admins may act on {escape_mrkdwn(what or 'it')}."
    # Seeing the message is no proof: anyone may read a public channel. Ask Slack (cached).
    if directory.in_channel(user, channel):
        return None
    return (
        f"Only people in {mention_channel(channel)} may act on {escape_mrkdwn(what)} "
        "(or its search's owner and admins)."
    )
