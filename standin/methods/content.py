"""What a message may carry: text, blocks, attachments, checked as Slack checks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from standin.limits import check_message_blocks
from standin.model import JSON, assign_ids
from standin.webapi import ApiError, Args

# Slack truncates text past 40,000 characters; refusing instead makes a bot that relies
# on the truncation visible in tests.
MAX_MESSAGE_TEXT = 40_000
MAX_ATTACHMENTS = 100


@dataclass
class Content:
    text: str
    blocks: list[JSON] | None
    attachments: list[JSON] | None


def parse_blocks(value: Any, max_chars: int | None) -> list[JSON] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError("invalid_blocks_format") from None
    if not isinstance(value, list):
        raise ApiError("invalid_blocks_format")
    errors = check_message_blocks(value)
    if errors:
        raise ApiError("invalid_blocks", messages=errors)
    if max_chars is not None and len(json.dumps(value)) > max_chars:
        raise ApiError("msg_blocks_too_long")
    return assign_ids(value)


def parse_attachments(value: Any) -> list[JSON] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError("invalid_attachments") from None
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise ApiError("invalid_attachments")
    if len(value) > MAX_ATTACHMENTS:
        raise ApiError("too_many_attachments")
    return value


def message_content(args: Args, max_blocks_chars: int | None, require: bool = True) -> Content:
    """Text, blocks and attachments of a post or an update; Slack's errors when invalid."""
    blocks = parse_blocks(args.get("blocks"), max_blocks_chars)
    attachments = parse_attachments(args.get("attachments"))
    text = args.text("text") or ""
    if len(text) > MAX_MESSAGE_TEXT:
        raise ApiError("msg_too_long")
    if require and not text.strip() and not blocks and not attachments:
        raise ApiError("no_text")
    return Content(text=text, blocks=blocks, attachments=attachments)
