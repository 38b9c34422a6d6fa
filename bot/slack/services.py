"""What every listener gets from the middleware: a unit of work, the actor, the rules.

Bolt acks in the request thread and runs the listener on a worker thread, so a
session opened by the middleware could not follow the listener's lifetime.
Instead the middleware hands over ``context["db"]``, a :class:`UnitOfWork`: each
``with context["db"] as session:`` is one transaction, committed at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.alerts.actions import ActionContext
from bot.alerts.permissions import Actor, Directory, SlackDirectory
from bot.db import session_scope
from bot.slack.slow import SlowWork

if TYPE_CHECKING:
    from bot.runtime import Runtime


class UnitOfWork:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._scope: Any = None

    def __enter__(self) -> Session:
        self._scope = session_scope(self.runtime.sessions)
        session: Session = self._scope.__enter__()
        return session

    def __exit__(self, *exc: Any) -> None:
        self._scope.__exit__(*exc)


@dataclass
class Services:
    """Built once per app: the runtime, the Web API client and the workspace directory."""

    runtime: Runtime
    client: WebClient
    directory: Directory
    slow: SlowWork

    @classmethod
    def create(cls, runtime: Runtime, client: WebClient | None = None) -> Services:
        client = client or runtime.slack_client()
        return cls(
            runtime=runtime, client=client, directory=SlackDirectory(client), slow=SlowWork()
        )

    @contextmanager
    def acting(self, actor: Actor) -> Iterator[ActionContext]:
        """One transaction for an alert action, committed when the block ends."""
        with session_scope(self.runtime.sessions) as session:
            yield ActionContext(session, self.runtime.settings, self.directory, actor)


def actor_from(body: dict[str, Any]) -> Actor | None:
    """Who acts and from which channel, for commands, actions, views and events."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    if not user and isinstance(body.get("event"), dict):
        user = body["event"].get("user")
    if not user:
        return None
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    return Actor(user_id=str(user), channel_id=str(channel) if channel else None)
