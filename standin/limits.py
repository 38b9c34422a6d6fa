"""Block Kit validation with Slack's documented limits and Slack's way of reporting them.

Slack answers a bad message with `invalid_blocks` (a bad view with `invalid_arguments`)
and explains each problem in `response_metadata.messages` as
`[ERROR] <what> [json-pointer:/blocks/0/text/text]`. `BlockChecker` produces those lines.
The numbers are the ones in shared/slack-platform.md (docs.slack.dev Block Kit reference).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_ID = 255
MAX_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OVERFLOW_OPTIONS = 5
MAX_PLACEHOLDER = 150
MAX_LABEL = 2000
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_MARKDOWN_BLOCK = 12000
MAX_CHOICES = 10  # checkboxes and radio buttons

SELECTS = {
    "static_select",
    "multi_static_select",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
}
INPUTS = {
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "checkboxes",
    "radio_buttons",
    "rich_text_input",
    "file_input",
} | SELECTS
INTERACTIVE = INPUTS | {"button", "overflow", "workflow_button"}
ACCESSORIES = INTERACTIVE | {"image"}

Json = Any


def error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


class BlockChecker:
    """Collects every problem found in a list of blocks (Slack reports them all at once)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, pointer: str) -> None:
        self.errors.append(error(message, pointer))

    # -- primitives ---------------------------------------------------------------

    def string(self, value: Json, pointer: str, max_len: int, min_len: int = 1) -> None:
        if not isinstance(value, str):
            self.fail("must be a string", pointer)
        elif len(value) < min_len:
            self.fail(f"must be more than {min_len - 1} characters", pointer)
        elif len(value) > max_len:
            self.fail(f"must be less than {max_len + 1} characters", pointer)

    def optional_string(self, obj: dict[str, Json], key: str, pointer: str, max_len: int) -> None:
        if key in obj and obj[key] is not None:
            self.string(obj[key], f"{pointer}/{key}", max_len)

    def text(self, obj: Json, pointer: str, max_len: int = MAX_TEXT, plain: bool = False) -> None:
        """A text object: {"type": "plain_text"|"mrkdwn", "text": ...}."""
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.fail(f"must be one of: {', '.join(kinds)}", f"{pointer}/type")
        if "text" not in obj:
            self.fail("missing required field: text", pointer)
        else:
            self.string(obj["text"], f"{pointer}/text", max_len)
        if obj.get("type") == "plain_text" and "verbatim" in obj:
            self.fail("verbatim is only allowed on mrkdwn", f"{pointer}/verbatim")

    def required(self, obj: dict[str, Json], key: str, pointer: str) -> bool:
        if obj.get(key) is None:
            self.fail(f"missing required field: {key}", pointer)
            return False
        return True

    def array(self, value: Json, pointer: str, max_items: int, min_items: int = 1) -> list[Json]:
        if not isinstance(value, list):
            self.fail("must provide an array", pointer)
            return []
        if len(value) < min_items:
            self.fail(f"must provide at least {min_items} items", pointer)
        if len(value) > max_items:
            self.fail(f"no more than {max_items} items allowed", pointer)
        return value

    # -- composition objects ------------------------------------------------------

    def option(self, obj: Json, pointer: str, plain: bool) -> None:
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        if self.required(obj, "text", pointer):
            self.text(obj["text"], f"{pointer}/text", MAX_OPTION_TEXT, plain=plain)
        if self.required(obj, "value", pointer):
            self.string(obj["value"], f"{pointer}/value", MAX_OPTION_VALUE)
        if "description" in obj:
            self.text(obj["description"], f"{pointer}/description", MAX_OPTION_TEXT, plain=plain)
        self.optional_string(obj, "url", pointer, MAX_URL)

    def options(
        self, el: dict[str, Json], pointer: str, max_items: int, plain: bool = True
    ) -> None:
        if "option_groups" in el:
            for i, group in enumerate(
                self.array(el["option_groups"], f"{pointer}/option_groups", max_items)
            ):
                gp = f"{pointer}/option_groups/{i}"
                if isinstance(group, dict):
                    self.text(group.get("label"), f"{gp}/label", MAX_OPTION_TEXT, plain=True)
                    for j, opt in enumerate(
                        self.array(group.get("options"), f"{gp}/options", max_items)
                    ):
                        self.option(opt, f"{gp}/options/{j}", plain)
            return
        if not self.required(el, "options", pointer):
            return
        values = []
        for i, opt in enumerate(self.array(el["options"], f"{pointer}/options", max_items)):
            self.option(opt, f"{pointer}/options/{i}", plain)
            if isinstance(opt, dict):
                values.append(opt.get("value"))
        for key in ("initial_option",):
            initial = el.get(key)
            if isinstance(initial, dict) and initial.get("value") not in values:
                self.fail("must match one of the options", f"{pointer}/{key}")

    def confirm(self, obj: Json, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.fail("must provide an object", pointer)
            return
        for key, max_len, required in (
            ("title", 100, True),
            ("text", 300, True),
            ("confirm", 30, True),
            ("deny", 30, True),
        ):
            if key in obj:
                self.text(obj[key], f"{pointer}/{key}", max_len, plain=key != "text")
            elif required:
                self.fail(f"missing required field: {key}", pointer)

    # -- elements ---------------------------------------------------------------

    def element(self, el: Json, pointer: str, allowed: set[str]) -> None:
        if not isinstance(el, dict):
            self.fail("must provide an object", pointer)
            return
        kind = el.get("type")
        if kind not in allowed:
            self.fail(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind in INTERACTIVE:
            self.optional_string(el, "action_id", pointer, MAX_ID)
        if "confirm" in el:
            self.confirm(el["confirm"], f"{pointer}/confirm")
        if "placeholder" in el:
            self.text(el["placeholder"], f"{pointer}/placeholder", MAX_PLACEHOLDER, plain=True)
        check = ELEMENT_CHECKS.get(str(kind))
        if check is not None:
            check(self, el, pointer)

    def button(self, el: dict[str, Json], pointer: str) -> None:
        if self.required(el, "text", pointer):
            self.text(el["text"], f"{pointer}/text", MAX_BUTTON_TEXT, plain=True)
        self.optional_string(el, "value", pointer, MAX_BUTTON_VALUE)
        self.optional_string(el, "url", pointer, MAX_URL)
        self.optional_string(el, "accessibility_label", pointer, MAX_BUTTON_TEXT)
        if "style" in el and el["style"] not in ("primary", "danger"):
            self.fail("must be one of: primary, danger", f"{pointer}/style")

    def image_element(self, el: dict[str, Json], pointer: str) -> None:
        if "slack_file" not in el and self.required(el, "image_url", pointer):
            self.string(el["image_url"], f"{pointer}/image_url", MAX_URL)
        if self.required(el, "alt_text", pointer):
            self.string(el["alt_text"], f"{pointer}/alt_text", MAX_LABEL)

    def select(self, el: dict[str, Json], pointer: str) -> None:
        if el.get("type") in ("static_select", "multi_static_select"):
            self.options(el, pointer, MAX_OPTIONS)

    def overflow(self, el: dict[str, Json], pointer: str) -> None:
        if self.required(el, "options", pointer):
            for i, opt in enumerate(
                self.array(el["options"], f"{pointer}/options", MAX_OVERFLOW_OPTIONS)
            ):
                self.option(opt, f"{pointer}/options/{i}", plain=True)

    def choices(self, el: dict[str, Json], pointer: str) -> None:
        self.options(el, pointer, MAX_CHOICES, plain=False)

    def text_input(self, el: dict[str, Json], pointer: str) -> None:
        for key, low, high in (("min_length", 0, MAX_TEXT), ("max_length", 1, MAX_TEXT)):
            value = el.get(key)
            if value is not None and (not isinstance(value, int) or not low <= value <= high):
                self.fail(f"must be an integer between {low} and {high}", f"{pointer}/{key}")

    def datepicker(self, el: dict[str, Json], pointer: str) -> None:
        initial = el.get("initial_date")
        if initial is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(initial)):
            self.fail("must be in the format YYYY-MM-DD", f"{pointer}/initial_date")

    def timepicker(self, el: dict[str, Json], pointer: str) -> None:
        initial = el.get("initial_time")
        if initial is not None and not re.fullmatch(r"\d{2}:\d{2}", str(initial)):
            self.fail("must be in the format HH:mm", f"{pointer}/initial_time")

    # -- blocks -------------------------------------------------------------------

    def blocks(self, blocks: Json, pointer: str, max_blocks: int) -> None:
        seen_ids: set[str] = set()
        for i, block in enumerate(self.array(blocks, pointer, max_blocks, min_items=0)):
            bp = f"{pointer}/{i}"
            if not isinstance(block, dict):
                self.fail("must provide an object", bp)
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.string(block_id, f"{bp}/block_id", MAX_ID)
                if block_id in seen_ids:
                    self.fail(f"duplicate block_id: {block_id}", f"{bp}/block_id")
                seen_ids.add(block_id)
            check = BLOCK_CHECKS.get(str(block.get("type")))
            if check is None:
                self.fail(f"unsupported type: {block.get('type')}", f"{bp}/type")
            else:
                check(self, block, bp)

    def section(self, block: dict[str, Json], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide either text or fields", pointer)
        if "text" in block:
            self.text(block["text"], f"{pointer}/text")
        if "fields" in block:
            for i, f in enumerate(self.array(block["fields"], f"{pointer}/fields", MAX_FIELDS)):
                self.text(f, f"{pointer}/fields/{i}", MAX_FIELD_TEXT)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", ACCESSORIES)

    def header(self, block: dict[str, Json], pointer: str) -> None:
        if self.required(block, "text", pointer):
            self.text(block["text"], f"{pointer}/text", MAX_HEADER, plain=True)

    def divider(self, block: dict[str, Json], pointer: str) -> None:
        return

    def context(self, block: dict[str, Json], pointer: str) -> None:
        elements = self.array(block.get("elements"), f"{pointer}/elements", MAX_CONTEXT_ELEMENTS)
        for i, el in enumerate(elements):
            ep = f"{pointer}/elements/{i}"
            if isinstance(el, dict) and el.get("type") == "image":
                self.image_element(el, ep)
            else:
                self.text(el, ep)

    def actions(self, block: dict[str, Json], pointer: str) -> None:
        elements = self.array(block.get("elements"), f"{pointer}/elements", MAX_ACTIONS_ELEMENTS)
        action_ids: set[str] = set()
        for i, el in enumerate(elements):
            self.element(el, f"{pointer}/elements/{i}", INTERACTIVE)
            action_id = el.get("action_id") if isinstance(el, dict) else None
            if action_id is not None and action_id in action_ids:
                self.fail(f"duplicate action_id: {action_id}", f"{pointer}/elements/{i}/action_id")
            if action_id is not None:
                action_ids.add(action_id)

    def image_block(self, block: dict[str, Json], pointer: str) -> None:
        self.image_element(block, pointer)
        if "title" in block:
            self.text(block["title"], f"{pointer}/title", MAX_LABEL, plain=True)

    def input_block(self, block: dict[str, Json], pointer: str) -> None:
        if self.required(block, "label", pointer):
            self.text(block["label"], f"{pointer}/label", MAX_LABEL, plain=True)
        if self.required(block, "element", pointer):
            self.element(block["element"], f"{pointer}/element", INPUTS)
        if "hint" in block:
            self.text(block["hint"], f"{pointer}/hint", MAX_LABEL, plain=True)

    def rich_text(self, block: dict[str, Json], pointer: str) -> None:
        self.array(block.get("elements"), f"{pointer}/elements", 1000, min_items=0)

    def markdown(self, block: dict[str, Json], pointer: str) -> None:
        self.string(block.get("text"), f"{pointer}/text", MAX_MARKDOWN_BLOCK)


Check = Callable[[BlockChecker, dict[str, Json], str], None]

ELEMENT_CHECKS: dict[str, Check] = {
    "button": BlockChecker.button,
    "image": BlockChecker.image_element,
    "overflow": BlockChecker.overflow,
    "checkboxes": BlockChecker.choices,
    "radio_buttons": BlockChecker.choices,
    "plain_text_input": BlockChecker.text_input,
    "datepicker": BlockChecker.datepicker,
    "timepicker": BlockChecker.timepicker,
    **{name: BlockChecker.select for name in SELECTS},
}

BLOCK_CHECKS: dict[str, Check] = {
    "section": BlockChecker.section,
    "header": BlockChecker.header,
    "divider": BlockChecker.divider,
    "context": BlockChecker.context,
    "actions": BlockChecker.actions,
    "image": BlockChecker.image_block,
    "input": BlockChecker.input_block,
    "rich_text": BlockChecker.rich_text,
    "markdown": BlockChecker.markdown,
    "file": BlockChecker.divider,
    "video": BlockChecker.divider,
}


def check_message_blocks(blocks: Json) -> list[str]:
    checker = BlockChecker()
    checker.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    return checker.errors


def check_view(view: Json) -> list[str]:
    """Problems with a view object (modal or home), pointers rooted at /view."""
    checker = BlockChecker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.fail("must be one of: modal, home", "/view/type")
    blocks = view.get("blocks")
    if blocks is None:
        checker.fail("missing required field: blocks", "/view")
    else:
        checker.blocks(blocks, "/view/blocks", MAX_VIEW_BLOCKS)
    for key in ("callback_id", "external_id"):
        checker.optional_string(view, key, "/view", MAX_ID)
    metadata = view.get("private_metadata")
    if metadata is not None:
        checker.string(metadata, "/view/private_metadata", MAX_PRIVATE_METADATA, min_len=0)
    if kind == "modal":
        if checker.required(view, "title", "/view"):
            checker.text(view["title"], "/view/title", MAX_VIEW_TITLE, plain=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                checker.text(view[key], f"/view/{key}", MAX_VIEW_TITLE, plain=True)
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            checker.fail("must provide submit when the view has input blocks", "/view/submit")
    return checker.errors
