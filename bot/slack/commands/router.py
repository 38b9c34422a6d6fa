"""``/411 <command> ...``: find the command, run it, reply (ephemeral unless sharing is the point).

Bolt has no subcommand router: ``app.command("/411")`` receives everything after
the command as text. Commands are registered as :class:`Command` with a path
(``("search", "create")``), a usage line and a handler; an unknown word gets the
usage of the nearest command (difflib).

The answer is the ack itself when the handler is done in time, so the user sees
one message and never a "working on it" notice after the answer. Work that
goes on after the ack (``ctx.later``: search test/run) acks with the notice, and
a handler still busy after ``ACK_DEADLINE`` is acked empty by a timer and
answers through ``response_url``: Slack's 3 s limit is always met.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.alerts.permissions import Actor
from bot.alerts.visibility import Viewer
from bot.errors import InvalidInput
from bot.slack.commands.parse import Args, parse
from bot.slack.feedback import guarded, tell_user
from bot.slack.services import Services, UnitOfWork
from bot.text.escape import code, escape_mrkdwn

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.runtime import Runtime


ACK_DEADLINE = 2.0  # seconds; Slack gives up on an ack after 3


class OnceAck:
    """Slack takes one ack per request; whoever acks first wins (the handler or the timer)."""

    def __init__(self, ack: Callable[..., Any]) -> None:
        self._ack = ack
        self._lock = threading.Lock()
        self.done = False

    def __call__(self, **kwargs: Any) -> bool:
        """Ack with ``kwargs``; False when the request was acked already."""
        with self._lock:
            if self.done:
                return False
            self.done = True
        self._ack(**kwargs)
        return True


def _no_ack(**kwargs: Any) -> bool:
    return False


@dataclass
class Reply:
    text: str
    blocks: list[dict[str, Any]] | None = None
    in_channel: bool = False


@dataclass
class CommandContext:
    services: Services
    actor: Actor
    channel_id: str
    trigger_id: str | None
    client: WebClient
    db: UnitOfWork
    respond: Callable[..., Any]
    on_error: Callable[[BaseException], Any] = lambda exc: None
    ack: Callable[..., bool] = _no_ack
    text: str = ""  # what the user typed after /411

    def reply(self, text: str) -> None:
        self.respond(text=text, response_type="ephemeral", replace_original=False)

    def later(self, job: Callable[..., str], *args: Any) -> None:
        """Run ``job`` in a worker process; its text reaches the user when it is done."""
        self.ack(text=f"⏳ Working on {code(self.text, 200)}… the answer follows here.")
        self.services.slow.submit(job, *args, done=self.reply, failed=self.on_error)

    @property
    def runtime(self) -> Runtime:
        return self.services.runtime

    @property
    def settings(self) -> Settings:
        return self.services.runtime.settings

    @property
    def viewer(self) -> Viewer:
        """The person who typed the command, as what they may see (bot/alerts/visibility.py)."""
        return Viewer(self.settings, self.services.directory, self.actor.user_id)


Handler = Callable[[CommandContext, Args], Reply | None]


@dataclass
class Command:
    path: tuple[str, ...]
    usage: str
    summary: str
    handler: Handler

    @property
    def name(self) -> str:
        return " ".join(self.path)


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)

    def add(self, path: str, usage: str, summary: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.commands.append(Command(tuple(path.split()), usage, summary, handler))
            return handler

        return decorate

    def find(self, args: Args) -> tuple[Command, Args]:
        """The command the words name; the words it consumed are dropped from ``args``.

        ``/411`` alone is ``/411 help``."""
        if not args.words and not args.options:
            args = Args(["help"])
        words = [w.lower() for w in args.words]
        best: Command | None = None
        for command in self.commands:
            n = len(command.path)
            if tuple(words[:n]) == command.path and (best is None or n > len(best.path)):
                best = command
        if best is None:
            raise InvalidInput(self.unknown(args.words))
        return best, Args(args.words[len(best.path) :], args.options)

    def unknown(self, words: list[str]) -> str:
        typed = " ".join(words[:2]).lower()
        names = [c.name for c in self.commands]
        close = difflib.get_close_matches(
            typed, names, n=1, cutoff=0.4
        ) or difflib.get_close_matches(typed.split(" ")[0] if typed else "", names, n=1, cutoff=0.4)
        shown = code(" ".join(words[:2]) or "(nothing)", 80)
        if close:
            command = next(c for c in self.commands if c.name == close[0])
            return f"Unknown command {shown}. Did you mean {code(command.name)}?\nUsage: {code(command.usage, 300)}"
        return f"Unknown command {shown}. Try `/411 help`."

    def help_text(self) -> str:
        lines = ["*411* turns scheduled searches into alerts you act on here. Commands:"]
        for command in self.commands:
            lines.append(f"• `{escape_mrkdwn(command.usage)}`: {escape_mrkdwn(command.summary)}")
        lines.append('Quote values with spaces: `name="failed logins"`.')
        return "\n".join(lines)


REGISTRY = Registry()


@REGISTRY.add("help", "/411 help", "this list")
def _help(ctx: CommandContext, args: Args) -> Reply:
    return Reply(REGISTRY.help_text())


def dispatch(ctx: CommandContext, text: str) -> Reply | None:
    command, rest = REGISTRY.find(parse(text))
    return command.handler(ctx, rest)


def _load_commands() -> None:
    # Imported for their registrations; the order here is the order in `/411 help`.
    for name in ("search_cmds", "backfill_cmd", "alert_cmds", "digest_cmd", "maintenance_cmd"):
        importlib.import_module(f"bot.slack.commands.{name}")


def register(app: App) -> None:
    _load_commands()

    @app.command("/411")
    @guarded
    def on_command(
        ack: Ack,
        body: dict[str, Any],
        command: dict[str, Any],
        context: dict[str, Any],
        client: WebClient,
        respond: Respond,
    ) -> None:
        text = command.get("text", "") or ""
        once = OnceAck(ack)
        ctx = CommandContext(
            services=context["services"],
            actor=context["actor"],
            channel_id=command.get("channel_id", ""),
            trigger_id=command.get("trigger_id"),
            client=client,
            db=context["db"],
            respond=respond,
            on_error=lambda exc: tell_user(exc, body, respond, client),
            ack=once,
            text=text,
        )
        timer = threading.Timer(ACK_DEADLINE, once)  # still busy: ack now, answer later
        timer.daemon = True
        timer.start()
        try:
            reply = dispatch(ctx, text)
        except BaseException:
            once()  # the error is told through response_url (guarded); nothing shows before it
            raise
        finally:
            timer.cancel()
        if reply is None:
            once()
            return
        kind = "in_channel" if reply.in_channel else "ephemeral"
        if not once(text=reply.text, blocks=reply.blocks, response_type=kind):
            respond(
                text=reply.text,
                blocks=reply.blocks,
                response_type=kind,
                replace_original=False,
            )
