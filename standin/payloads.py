"""The bodies Slack posts to an app: slash commands, interactions, events.

Shapes follow docs.slack.dev (slash commands, block_actions, view_submission,
view_closed, app_home_opened). Commands and interactions are form-encoded (interactions
as `payload=<json>`); events are JSON.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode

from standin.model import (
    APP_ID,
    BOT_USER_ID,
    JSON,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    Channel,
    User,
    View,
)

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


def slash_command(
    user: User, channel: Channel, command: str, text: str, response_url: str, trigger_id: str
) -> bytes:
    form = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(form).encode()


def _user(user: User) -> JSON:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def _envelope(kind: str, user: User, trigger_id: str | None) -> JSON:
    data: JSON = {
        "type": kind,
        "user": _user(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if trigger_id is not None:
        data["trigger_id"] = trigger_id
    return data


def interaction_form(payload: JSON) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def message_actions(
    user: User,
    channel: Channel,
    message: JSON,
    is_ephemeral: bool,
    action: JSON,
    state: JSON,
    trigger_id: str,
    response_url: str,
) -> JSON:
    """block_actions from a button or menu in a message (Slack omits `message` for ephemerals)."""
    data = _envelope("block_actions", user, trigger_id)
    container: JSON = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel.id,
        "is_ephemeral": is_ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    data.update(
        {
            "container": container,
            "channel": {
                "id": channel.id,
                "name": "directmessage" if channel.is_im else channel.name,
            },
            "state": {"values": state},
            "response_url": response_url,
            "actions": [action],
        }
    )
    if not is_ephemeral:
        data["message"] = message
    return data


def block_suggestion(
    user: User, channel: Channel, message: JSON, block_id: str, action_id: str, value: str
) -> JSON:
    """What Slack sends while someone types in an external_select: the bot answers options."""
    data = _envelope("block_suggestion", user, None)
    data.update(
        {
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel.id,
                "is_ephemeral": False,
            },
            "channel": {"id": channel.id, "name": channel.name},
            "message": message,
            "block_id": block_id,
            "action_id": action_id,
            "value": value,
        }
    )
    return data


def view_actions(user: User, view: View, action: JSON, trigger_id: str) -> JSON:
    data = _envelope("block_actions", user, trigger_id)
    data.update(
        {
            "container": {"type": "view", "view_id": view.id},
            "view": view.to_api(),
            "actions": [action],
        }
    )
    return data


def view_submission(user: User, view: View, trigger_id: str) -> JSON:
    data = _envelope("view_submission", user, trigger_id)
    data.update({"view": view.to_api(), "response_urls": []})
    return data


def view_closed(user: User, view: View, is_cleared: bool) -> JSON:
    data = _envelope("view_closed", user, None)
    data.update({"view": view.to_api(), "is_cleared": is_cleared})
    return data


def event_callback(event: JSON, event_time: int) -> bytes:
    """An Events API delivery wrapping one event."""
    body: dict[str, Any] = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(body).encode()


def app_home_opened(user: User, dm_channel: str, home: View | None, event_ts: str) -> JSON:
    event: JSON = {
        "type": "app_home_opened",
        "user": user.id,
        "channel": dm_channel,
        "tab": "home",
        "event_ts": event_ts,
    }
    if home is not None:
        event["view"] = home.to_api()
    return event
