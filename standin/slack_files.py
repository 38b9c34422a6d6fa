"""Image blocks that show an uploaded file (``"slack_file": {"id": "F123"}``), as Slack does.

Slack refuses a message whose image names a file that does not exist or was never
uploaded (``invalid_blocks``), and shows the file's image where the block is: the API
returns the block with the file's ``image_url``. An app uploads a file without sharing
it to any channel, then posts it inside its own message this way (the digest's chart).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from standin.model import JSON, StoredFile


def _images(blocks: list[JSON], pointer: str = "/blocks") -> Iterator[tuple[str, JSON]]:
    """Every image block and image element (accessories, context elements) with its pointer."""
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        here = f"{pointer}/{i}"
        if block.get("type") == "image":
            yield here, block
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "image":
            yield f"{here}/accessory", accessory
        for j, element in enumerate(block.get("elements") or []):
            if isinstance(element, dict) and element.get("type") == "image":
                yield f"{here}/elements/{j}", element


def _file_id(image: JSON, files: dict[str, StoredFile]) -> str | None:
    ref = image.get("slack_file")
    if not isinstance(ref, dict):
        return None
    if ref.get("id"):
        return str(ref["id"])
    url = str(ref.get("url") or "")
    return next((f.id for f in files.values() if url.endswith(f"/files/{f.id}")), url or None)


def check_slack_files(blocks: list[JSON] | None, files: dict[str, StoredFile]) -> list[str]:
    """Slack's complaint for each image naming a file that is missing or not uploaded."""
    errors = []
    for pointer, image in _images(blocks or []):
        if "slack_file" not in image:
            continue
        file_id = _file_id(image, files)
        stored = files.get(file_id or "")
        if stored is None or not stored.uploaded:
            errors.append(f"invalid slack file [json-pointer:{pointer}/slack_file]")
        elif not stored.mimetype.startswith("image/"):
            errors.append(f"slack file is not an image [json-pointer:{pointer}/slack_file]")
    return errors


def with_file_urls(blocks: list[JSON], files: dict[str, StoredFile], base_url: str) -> list[Any]:
    """The blocks as the API returns them: each slack_file image carries its image_url."""
    shown = copy.deepcopy(blocks)
    for _, image in _images(shown):
        file_id = _file_id(image, files)
        if file_id in files:
            image["image_url"] = f"{base_url}files/{file_id}"
    return shown
