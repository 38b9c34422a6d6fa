"""Slack's Web API over HTTP: parse a call, check the token and the rate limit, dispatch.

Calls arrive as `POST /api/<method>` with a form, multipart or JSON body (slack_sdk uses
all three) and the bot token in `Authorization: Bearer` or a `token` field. Answers are
Slack's: HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "..."}`, and HTTP 429
with `Retry-After` when rate limited. Fault switches (standin/faults.py) can make any
method answer 500, 429 or hang, for fault tests.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from standin.faults import Fault, FaultMode, Faults
from standin.handles import Handles
from standin.model import JSON
from standin.ratelimit import RateLimiter
from standin.state import ApiCall, Workspace
from standin.viewstore import ViewStore


class ApiError(Exception):
    """A call Slack would refuse: `code` is Slack's error, `messages` its explanation."""

    def __init__(self, code: str, messages: list[str] | None = None, status: int = 200) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []
        self.status = status


@dataclass
class Reply:
    status: int
    body: JSON
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StandInContext:
    """Everything a method handler may touch."""

    workspace: Workspace
    views: ViewStore
    handles: Handles
    limiter: RateLimiter
    bot_token: str
    root_url: Callable[[], str]  # "http://127.0.0.1:PORT/": known once the server listens
    # Undocumented but reported by Slack users: msg_blocks_too_long near 13k characters.
    max_blocks_chars: int | None = 13_000


class Args(dict[str, Any]):
    """A call's arguments with Slack's coercions (JSON strings, "true"/"1" booleans)."""

    def text(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else f"{value}"

    def required(self, key: str, error: str = "invalid_arguments") -> str:
        value = self.text(key)
        if not value:
            raise ApiError(error)
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)

    def json(self, key: str, error: str) -> Any:
        value = self.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(error) from None
        return value


Handler = Callable[[StandInContext, Args], JSON]


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Form, multipart or JSON body to a dict; the first value wins for repeated keys."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ApiError("invalid_json")
        return data
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        parts: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                parts[name] = payload if part.get_filename() else payload.decode()
        return parts
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def bearer_token(authorization: str | None, args: dict[str, Any]) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    token = args.get("token")
    return f"{token}" if token else None


class WebApi:
    def __init__(
        self, ctx: StandInContext, handlers: dict[str, Handler], faults: Faults | None = None
    ) -> None:
        self.ctx = ctx
        self.handlers = handlers
        self.faults = faults or Faults()

    def call(self, method: str, args: dict[str, Any], authorization: str | None) -> Reply:
        reply = self._call(method, Args(args), authorization)
        error = reply.body.get("error")
        recorded = {k: v for k, v in args.items() if k != "token"}
        call = ApiCall(method, recorded, bool(reply.body.get("ok")), error, reply.status)
        self.ctx.workspace.record_call(call)
        return reply

    def _call(self, method: str, args: Args, authorization: str | None) -> Reply:
        handler = self.handlers.get(method)
        if handler is None:
            return Reply(404, {"ok": False, "error": "unknown_method"})
        token = bearer_token(authorization, args)
        if not token:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if token != self.ctx.bot_token:
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        fault = self.faults.for_method(method)
        if fault is not None:
            early = self._fault(fault, method, args)
            if early is not None:
                return early
        channel = self._channel_key(args) if method == "chat.postMessage" else None
        retry_after = self.ctx.limiter.check(method, channel)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return Reply(429, {"ok": False, "error": "ratelimited"}, headers)
        try:
            return Reply(200, {"ok": True, **handler(self.ctx, args)})
        except ApiError as exc:
            body: JSON = {"ok": False, "error": exc.code}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            return Reply(exc.status, body)

    def _fault(self, fault: Fault, method: str, args: Args) -> Reply | None:
        """The reply a fault switch gives instead of the call's; None: perform the call."""
        if fault.mode == FaultMode.RATE_LIMITED:
            headers = {"Retry-After": str(fault.retry_after)}
            return Reply(429, {"ok": False, "error": "ratelimited"}, headers)
        if fault.mode == FaultMode.ERROR:
            if fault.accept:
                handler = self.handlers[method]
                with contextlib.suppress(ApiError):
                    handler(self.ctx, args)
            return Reply(500, {"ok": False, "error": "internal_error"})
        time.sleep(fault.seconds)  # HANG: then answer (and perform) the call as usual
        return None

    def _channel_key(self, args: Args) -> str:
        channel = self.ctx.workspace.resolve_channel(args.text("channel"))
        return channel.id if channel else f"{args.get('channel')}"
