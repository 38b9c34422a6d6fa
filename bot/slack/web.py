"""The WSGI app for HTTP mode: ``POST /slack/events``, ``POST /push/<search>``, ``GET /healthz``,
``GET /metrics`` (Prometheus, bot/metrics.py).

Every request to ``/slack/events`` must carry Slack's signature: HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the signing secret, and a timestamp within 5
minutes. Forged, unsigned and stale requests get 401 here, before Bolt (which
checks again) ever parses them.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy import text

from bot.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; pushes are bounded too
_PUSH = re.compile(r"^/push/([^/]{1,200})/?$")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def _reply(start_response: StartResponse, status: int, body: dict[str, Any]) -> Iterable[bytes]:
    reasons = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {reasons.get(status, 'Status')}", headers)
    return [data]


def _read_body(environ: Environ) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _headers(environ: Environ) -> dict[str, str]:
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }


class WsgiApp:
    def __init__(self, runtime: Runtime, app: App, clock: Callable[[], float] = time.time) -> None:
        secret = runtime.settings.slack_signing_secret
        if not secret:
            raise ConfigurationError(
                "HTTP mode needs SLACK_SIGNING_SECRET to check Slack's signatures"
            )
        self.runtime = runtime
        self.bolt = SlackRequestHandler(app)
        self.verifier = SignatureVerifier(secret, clock=_Clock(clock))

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/healthz":
                return self._health(start_response)
            if path == "/metrics":
                return self._metrics(start_response)
            if path == "/slack/events":
                if method != "POST":
                    return _reply(start_response, 405, {"error": "POST only"})
                return self._slack(environ, start_response)
            match = _PUSH.match(path)
            if match:
                if method != "POST":
                    return _reply(start_response, 405, {"error": "POST only"})
                return self._push(environ, start_response, match.group(1))
            return _reply(start_response, 404, {"error": "not found"})
        except Exception:
            log.exception("request %s %s failed", method, path)
            return _reply(start_response, 500, {"error": "internal error"})

    def _slack(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body = _read_body(environ)
        if body is None:
            return _reply(start_response, 413, {"error": "body too large"})
        if not self._signed(body, _headers(environ)):
            log.warning(
                "refused a request to /slack/events with a missing, wrong or stale signature"
            )
            return _reply(start_response, 401, {"error": "invalid signature"})
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads (and verifies) the body again
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.bolt(environ, start_response)

    def _signed(self, body: bytes, headers: dict[str, str]) -> bool:
        """Whether Slack signed this request; a malformed header is a refusal, not a crash:
        ``int()`` of a timestamp like ``abc`` raises ValueError, and ``compare_digest`` of a
        signature with non-ASCII characters raises TypeError."""
        try:
            return self.verifier.is_valid_request(body, headers)
        except (ValueError, TypeError):
            return False

    def _push(self, environ: Environ, start_response: StartResponse, ref: str) -> Iterable[bytes]:
        from urllib.parse import unquote

        from bot.sources.push import receive_push

        body = _read_body(environ)
        if body is None:
            return _reply(start_response, 413, {"error": "body too large (1 MB at most)"})
        headers = _headers(environ)
        auth = headers.get("authorization", "")
        token = (
            auth[7:].strip()
            if auth.lower().startswith("bearer ")
            else headers.get("x-411-token", "")
        )
        response = receive_push(self.runtime.engine, unquote(ref), token, body)
        return _reply(start_response, response.status, response.body)

    def _metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        from bot.metrics import CONTENT_TYPE, exposition

        data = exposition(self.runtime)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            return _reply(start_response, 503, {"ok": False, "database": str(exc).splitlines()[0]})
        return _reply(start_response, 200, {"ok": True})


class _Clock(Clock):
    """SignatureVerifier's clock interface over a plain function (tests inject time)."""

    def __init__(self, fn: Callable[[], float]) -> None:
        self.fn = fn

    def now(self) -> float:
        return self.fn()


def build_wsgi_app(
    runtime: Runtime, app: App | None = None, *, clock: Callable[[], float] = time.time
) -> WsgiApp:
    if app is None:
        from bot.slack.app import build_app

        app = build_app(runtime)
    return WsgiApp(runtime, app, clock)
