"""Requests to the bot, signed as Slack signs them.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret,
and sends `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`. It waits 3
seconds for the ack; after that the user sees "failed with the error operation_timeout".
`Tamper` lets tests send what Slack never would: unsigned, forged or stale requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

ACK_TIMEOUT = 3.0
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Tamper:
    """Ways to make a request Slack would never send (for tests of the bot's checks)."""

    unsigned: bool = False
    signature_override: str | None = None
    timestamp_override: str | int | None = None


@dataclass
class BotReply:
    """The bot's ack: HTTP status and body, or why there was none (`error`)."""

    status: int | None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # "operation_timeout", "dispatch_failed"
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200

    def json(self) -> Any:
        """The body as JSON; None when empty or not JSON."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None

    def to_api(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "error": self.error}


class BotDelivery:
    def __init__(self, signing_secret: str, bot_url: str | None, ack_timeout: float = ACK_TIMEOUT):
        self.signing_secret = signing_secret
        self.bot_url = bot_url
        self.ack_timeout = ack_timeout

    def headers(self, body: bytes, content_type: str, tamper: Tamper) -> dict[str, str]:
        timestamp = str(tamper.timestamp_override or int(time.time()))
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        if not tamper.unsigned:
            headers["X-Slack-Request-Timestamp"] = timestamp
            headers["X-Slack-Signature"] = tamper.signature_override or sign(
                self.signing_secret, timestamp, body
            )
        return headers

    def send(self, body: bytes, content_type: str, tamper: Tamper | None = None) -> BotReply:
        if not self.bot_url:
            return BotReply(status=None, error="dispatch_failed")
        headers = self.headers(body, content_type, tamper or Tamper())
        request = urllib.request.Request(self.bot_url, data=body, headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.ack_timeout) as response:
                text = response.read().decode("utf-8", "replace")
                return BotReply(
                    response.status,
                    text,
                    dict(response.headers),
                    elapsed=time.monotonic() - started,
                )
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            elapsed = time.monotonic() - started
            return BotReply(
                exc.code, text, dict(exc.headers), error="dispatch_failed", elapsed=elapsed
            )
        except TimeoutError:
            return BotReply(None, error="operation_timeout", elapsed=time.monotonic() - started)
        except (urllib.error.URLError, OSError) as exc:
            timed_out = isinstance(getattr(exc, "reason", None), TimeoutError)
            error = "operation_timeout" if timed_out else "dispatch_failed"
            return BotReply(None, error=error, elapsed=time.monotonic() - started)
