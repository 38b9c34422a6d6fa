"""`SlackStandIn`: a local server that behaves like slack.com for the bot.

    standin = SlackStandIn(signing_secret="s", bot_token="xoxb-test", bot_url=".../slack/events")
    standin.start()
    client = slack_sdk.WebClient(base_url=standin.api_url, token="xoxb-test")
    standin.send_command("U_ALICE", "C_ALERTS", "search list")   # signed, like Slack
    standin.messages("C_ALERTS")                                 # what the channel shows
    standin.stop()

Tests and `411 dev` use this same class; the page at `standin.url` drives it through the
UI API (uiapi.py).

Where it is deliberately stricter than Slack (so a bot that passes here passes there):
- message text over 40,000 characters is refused (`msg_too_long`); Slack truncates it;
- blocks whose JSON passes 13,000 characters get `msg_blocks_too_long` (Slack's limit is
  undocumented; `standin.ctx.max_blocks_chars = None` turns the check off);
- a `thread_ts` naming no message gets `thread_not_found`;
- events are delivered once (Slack retries an event the app did not ack in 3 seconds).
Like Slack's client, a modal submission with an empty required input never reaches the bot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from standin import persist
from standin.delivery import ACK_TIMEOUT, BotDelivery, BotReply, Tamper
from standin.faults import Faults
from standin.handles import Handles
from standin.interactions import Interactions
from standin.methods import HANDLERS
from standin.model import JSON, Channel, Ephemeral, Message, User, Usergroup, View
from standin.persist import Saver
from standin.ratelimit import RateLimiter, RateLimits
from standin.server import STATIC_DIR, StandInServer
from standin.state import ApiCall, Workspace
from standin.viewstore import ViewStore
from standin.webapi import StandInContext, WebApi


class SlackStandIn:
    def __init__(
        self,
        signing_secret: str,
        bot_token: str,
        bot_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.time,
        ack_timeout: float = ACK_TIMEOUT,
        command: str = "/411",
        should_escape: bool = True,
        static_dir: Path = STATIC_DIR,
        state_path: Path | None = None,
    ) -> None:
        """`state_path`: a JSON file that keeps the workspace across restarts (persist.py);
        without one (tests) everything lives in memory only."""
        self.host, self.port = host, port
        self.static_dir = static_dir
        self.workspace = Workspace(clock=clock)
        self.rate_limits = rate_limits or RateLimits()
        self.ctx = StandInContext(
            workspace=self.workspace,
            views=ViewStore(clock, self.workspace.touch),
            handles=Handles(clock),
            limiter=RateLimiter(self.rate_limits, clock),
            bot_token=bot_token,
            root_url=lambda: self.url,
        )
        self.faults = Faults()
        self.webapi = WebApi(self.ctx, HANDLERS, self.faults)
        self.delivery = BotDelivery(signing_secret, bot_url, ack_timeout)
        self.interactions = Interactions(self.ctx, self.delivery, command, should_escape)
        self.saver: Saver | None = None
        if state_path is not None:
            persist.read(state_path, self.workspace, self.ctx.views)
            self.saver = Saver(state_path, self.workspace, self.ctx.views)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = StandInServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="slack-standin", daemon=True
        )
        self._thread.start()
        if self.saver is not None:
            self.saver.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.saver is not None:
            self.saver.stop()  # after the server: no change can come in after the last write

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The root URL (the page); ends with '/'."""
        return f"http://{self.host}:{self.port}/"

    @property
    def api_url(self) -> str:
        """The Web API base URL for `WebClient(base_url=...)`; ends with '/'."""
        return f"{self.url}api/"

    def set_bot_url(self, url: str | None) -> None:
        self.delivery.bot_url = url

    # -- what a person does (signed deliveries to the bot) --------------------------------------

    def send_command(
        self, user_id: str, channel_id: str, text: str, command: str | None = None, **tamper: Any
    ) -> BotReply:
        return self.interactions.send_command(user_id, channel_id, text, command, _tamper(tamper))

    def click(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, **kw: Any
    ) -> BotReply:
        tamper = _tamper(kw)
        return self.interactions.click(
            user_id, channel_id, message_ts, action_id, tamper=tamper, **kw
        )

    def suggest(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str = ""
    ) -> list[JSON]:
        """Type into an external_select (a block_suggestion): the options the bot offers."""
        return self.interactions.suggest(user_id, channel_id, message_ts, action_id, value)

    def click_in_view(self, user_id: str, view_id: str, action_id: str, **kw: Any) -> BotReply:
        tamper = _tamper(kw)
        return self.interactions.click_in_view(user_id, view_id, action_id, tamper=tamper, **kw)

    def submit_view(self, user_id: str, view_id: str, values: JSON, **tamper: Any) -> BotReply:
        return self.interactions.submit_view(user_id, view_id, values, _tamper(tamper))

    def close_view(
        self, user_id: str, view_id: str, all_views: bool = False, **tamper: Any
    ) -> BotReply | None:
        return self.interactions.close_view(user_id, view_id, all_views, _tamper(tamper))

    def open_home(self, user_id: str, **tamper: Any) -> BotReply:
        return self.interactions.open_home(user_id, _tamper(tamper))

    # -- the workspace ---------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str = "",
        is_admin: bool = False,
        channels: tuple[str, ...] = (),
    ) -> User:
        user = self.workspace.add_user(
            User(id=user_id, name=name, real_name=real_name or name, is_admin=is_admin)
        )
        with self.workspace.lock:
            for channel_id in channels:
                self.workspace.channels[channel_id].members.add(user_id)
        return user

    def add_channel(
        self, channel_id: str, name: str, members: tuple[str, ...] = (), is_private: bool = False
    ) -> Channel:
        from standin.model import BOT_USER_ID

        channel = Channel(
            id=channel_id, name=name, members={*members, BOT_USER_ID}, is_private=is_private
        )
        return self.workspace.add_channel(channel)

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> Usergroup:
        group = Usergroup(id=group_id, handle=handle, name=handle, users=list(users))
        with self.workspace.lock:
            self.workspace.usergroups[group_id] = group
        return group

    def post_as_user(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A message a person typed (not a command): the bot may not edit it."""
        return self.workspace.post(
            Message(channel=channel_id, ts="", text=text, user=user_id, thread_ts=thread_ts)
        )

    # -- what tests look at ----------------------------------------------------------------------

    def messages(self, channel_id: str) -> list[JSON]:
        """The channel's top-level messages, oldest first, as conversations.history shows them."""
        history = reversed(self.workspace.history(channel_id))
        return [self.workspace.render(m, self.url) for m in history]

    def message(self, channel_id: str, ts: str) -> JSON | None:
        found = self.workspace.find_message(channel_id, ts)
        return self.workspace.render(found, self.url) if found else None

    def replies(self, channel_id: str, ts: str) -> list[JSON]:
        """A thread's replies (without the parent), oldest first."""
        return [
            self.workspace.render(m, self.url) for m in self.workspace.thread(channel_id, ts)[1:]
        ]

    def ephemerals(self, user_id: str, channel_id: str | None = None) -> list[Ephemeral]:
        return self.workspace.ephemerals_for(user_id, channel_id)

    def modal_stack(self, user_id: str) -> list[View]:
        return self.ctx.views.stack(user_id)

    def home_view(self, user_id: str) -> View | None:
        return self.ctx.views.home(user_id)

    def file_bytes(self, file_id: str) -> bytes | None:
        stored = self.workspace.files.get(file_id)
        return stored.data if stored else None

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self.workspace.lock:
            return [c for c in self.workspace.api_calls if method is None or c.method == method]

    @property
    def rate_limited_count(self) -> int:
        """How many 429s the stand-in has served."""
        return self.ctx.limiter.limited_total


def _tamper(options: dict[str, Any]) -> Tamper | None:
    """Pop `unsigned`, `signature_override`, `timestamp_override` out of keyword arguments."""
    keys = ("unsigned", "signature_override", "timestamp_override")
    found = {k: options.pop(k) for k in keys if k in options}
    return Tamper(**found) if found else None
