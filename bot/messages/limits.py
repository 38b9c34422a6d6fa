"""One validator for every payload we send: Slack's documented Block Kit limits.

``check_message`` / ``check_view`` return the list of problems (empty when the
payload is fine); ``ensure_message`` raises. The builders truncate as they go so a
payload fits whatever the data; this is the last line of defence before a send,
and the delivery loop falls back to a minimal message when it ever complains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTION_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_TOP_TEXT = 40_000
# Undocumented: Slack answers msg_blocks_too_long somewhere near 13k characters of blocks.
MAX_BLOCKS_JSON = 12_000

CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}


class PayloadTooLarge(ValueError):
    """A payload breaks one of Slack's limits; ``problems`` says which."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else len(str(obj or ""))


def _check_text(obj: Any, where: str, limit: int, problems: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}: not a text object")
        return
    size = _text_len(obj)
    if size < 1 or size > limit:
        problems.append(f"{where}: text length {size} outside 1..{limit}")


def _check_option(option: dict[str, Any], where: str, problems: list[str]) -> None:
    _check_text(option.get("text"), f"{where}.text", MAX_OPTION_TEXT, problems)
    if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
        problems.append(f"{where}.value longer than {MAX_OPTION_VALUE}")


def _check_element(element: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = element.get("type")
    if len(str(element.get("action_id", ""))) > MAX_ID:
        problems.append(f"{where}.action_id longer than {MAX_ID}")
    if kind == "button":
        _check_text(element.get("text"), f"{where}.text", MAX_BUTTON_TEXT, problems)
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            problems.append(f"{where}.value longer than {MAX_BUTTON_VALUE}")
        if len(str(element.get("url", ""))) > MAX_URL:
            problems.append(f"{where}.url longer than {MAX_URL}")
    if kind in ("image",):
        return
    options = element.get("options")
    if options is not None:
        bound = 5 if kind == "overflow" else MAX_OPTIONS
        if not 1 <= len(options) <= bound:
            problems.append(f"{where}: {len(options)} options outside 1..{bound}")
        for i, option in enumerate(options):
            _check_option(option, f"{where}.options[{i}]", problems)
    for key in ("placeholder",):
        if key in element:
            _check_text(element[key], f"{where}.{key}", 150, problems)
    confirm = element.get("confirm")
    if isinstance(confirm, dict):
        for key, limit in CONFIRM_LIMITS.items():
            if key in confirm:
                _check_text(confirm[key], f"{where}.confirm.{key}", limit, problems)


def _check_block(block: dict[str, Any], where: str, problems: list[str]) -> None:
    kind = block.get("type")
    if len(str(block.get("block_id", ""))) > MAX_ID:
        problems.append(f"{where}.block_id longer than {MAX_ID}")
    if kind == "header":
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(f"{where}: header text must be plain_text")
        _check_text(text, f"{where}.text", MAX_HEADER, problems)
    elif kind == "section":
        if "text" in block:
            _check_text(block["text"], f"{where}.text", MAX_TEXT, problems)
        fields = block.get("fields") or []
        if len(fields) > MAX_FIELDS:
            problems.append(f"{where}: {len(fields)} fields, at most {MAX_FIELDS}")
        for i, field in enumerate(fields):
            _check_text(field, f"{where}.fields[{i}]", MAX_FIELD_TEXT, problems)
        if "text" not in block and not fields:
            problems.append(f"{where}: a section needs text or fields")
        if isinstance(block.get("accessory"), dict):
            _check_element(block["accessory"], f"{where}.accessory", problems)
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
            problems.append(f"{where}: {len(elements)} elements outside 1..{MAX_CONTEXT_ELEMENTS}")
        for i, element in enumerate(elements):
            if element.get("type") in ("plain_text", "mrkdwn"):
                _check_text(element, f"{where}.elements[{i}]", MAX_TEXT, problems)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= MAX_ACTION_ELEMENTS:
            problems.append(f"{where}: {len(elements)} elements outside 1..{MAX_ACTION_ELEMENTS}")
        for i, element in enumerate(elements):
            _check_element(element, f"{where}.elements[{i}]", problems)
    elif kind == "input":
        _check_text(block.get("label"), f"{where}.label", 2000, problems)
        if isinstance(block.get("element"), dict):
            _check_element(block["element"], f"{where}.element", problems)


def _check_blocks(blocks: list[dict[str, Any]], limit: int, problems: list[str]) -> None:
    if len(blocks) > limit:
        problems.append(f"{len(blocks)} blocks, at most {limit}")
    for i, block in enumerate(blocks):
        _check_block(block, f"blocks[{i}]", problems)


def check_message(payload: dict[str, Any]) -> list[str]:
    """Problems with a chat.postMessage / chat.update / response_url payload."""
    problems: list[str] = []
    text = payload.get("text")
    if not text:
        problems.append("top-level text is missing (notification fallback)")
    elif len(text) > MAX_TOP_TEXT:
        problems.append(f"top-level text is {len(text)} characters, at most {MAX_TOP_TEXT}")
    blocks = payload.get("blocks") or []
    _check_blocks(blocks, MAX_MESSAGE_BLOCKS, problems)
    size = len(json.dumps(blocks, ensure_ascii=False))
    if size > MAX_BLOCKS_JSON:
        problems.append(f"blocks are {size} characters in total, keep under {MAX_BLOCKS_JSON}")
    if payload.get("link_names") or payload.get("parse") == "full":
        problems.append("link_names/parse=full would turn data into mentions")
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    """Problems with a modal or App Home view."""
    problems: list[str] = []
    _check_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS, problems)
    for key in ("title", "submit", "close"):
        if key in view:
            _check_text(view[key], key, MAX_MODAL_TITLE, problems)
    if len(view.get("private_metadata", "")) > MAX_PRIVATE_METADATA:
        problems.append(f"private_metadata longer than {MAX_PRIVATE_METADATA}")
    if len(view.get("callback_id", "")) > MAX_ID:
        problems.append(f"callback_id longer than {MAX_ID}")
    has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
    if view.get("type") == "modal" and has_input and "submit" not in view:
        problems.append("a modal with input blocks needs a submit button")
    return problems


def ensure_message(payload: dict[str, Any]) -> dict[str, Any]:
    problems = check_message(payload)
    if problems:
        raise PayloadTooLarge(problems)
    return payload


def ensure_view(view: dict[str, Any]) -> dict[str, Any]:
    problems = check_view(view)
    if problems:
        raise PayloadTooLarge(problems)
    return view


def iter_texts(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every string inside the blocks (tests use it to look for unescaped data)."""
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            yield item
