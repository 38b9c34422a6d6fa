"""How users hear about failures: one place turns exceptions into an ephemeral message.

``guarded`` wraps every listener so an exception raised after ``ack()`` is reported
here instead of escaping into Bolt: Bolt's thread runner, when a listener raises
after acking, resets the ack response and the HTTP request can then wait the full 3
seconds and fail (a race in slack_bolt.listener.thread_runner). Bolt's own error
handler (``App.error``) still covers anything raised before a listener runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import BotError
from bot.slack.services import actor_from

log = logging.getLogger(__name__)
_NEEDED = ("body", "respond", "client")


def tell_user(error: BaseException, body: dict[str, Any], respond: Any, client: WebClient) -> None:
    """The user sees why, ephemerally; the log gets the rest."""
    if isinstance(error, BotError):
        text = f":warning: {error.message}"
    else:
        ref = uuid.uuid4().hex[:8]
        log.error("unexpected error (ref %s)", ref, exc_info=error)
        text = f":boom: Something went wrong on our side (ref `{ref}`). Nothing was changed."
    actor = actor_from(body)
    try:
        if body.get("response_url") and respond is not None:
            respond(text=text, response_type="ephemeral", replace_original=False)
        elif actor and actor.channel_id:
            client.chat_postEphemeral(channel=actor.channel_id, user=actor.user_id, text=text)
        elif actor:
            client.chat_postMessage(channel=actor.user_id, text=text)
    except (SlackApiError, OSError) as exc:  # nothing more we can do; keep the reason
        log.warning("could not tell %s about an error (%s): %s", actor, error, exc)


def guarded(listener: Callable[..., Any]) -> Callable[..., Any]:
    """The listener, with its exceptions reported to the user instead of raised into Bolt."""
    signature = inspect.signature(listener)
    own = set(signature.parameters)
    extra = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for name in _NEEDED
        if name not in own
    ]

    @functools.wraps(listener)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return listener(**{k: v for k, v in kwargs.items() if k in own})
        except Exception as exc:
            tell_user(exc, kwargs.get("body") or {}, kwargs.get("respond"), kwargs["client"])
            return None

    del wrapper.__wrapped__  # Bolt must see the new signature, not the wrapped one
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore[attr-defined]
    return wrapper
