"""Alert title, body and link from the search's templates, rendered in the sandbox.

A broken template must not lose the alert: the default title is used and the
error is kept with the alert, so its author can fix the template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidInput
from bot.templates import render_template

TITLE_LIMIT = 300
BODY_FIELDS = 12  # the default body lists at most this many fields


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    link: str | None
    error: str | None


def render_alert(
    *,
    search_name: str,
    title_template: str,
    body_template: str,
    link_template: str | None,
    fields: dict[str, Any],
    key: str,
    occurrences: int,
    extra: dict[str, Any],
    default_link: str | None,
) -> Rendered:
    context = {**fields, "fields": fields, "key": key, "occurrences": occurrences, **extra}
    errors: list[str] = []
    title = _render(title_template, context, errors, "title") if title_template else ""
    body = _render(body_template, context, errors, "body") if body_template else ""
    link = _render(link_template, context, errors, "link") if link_template else None
    title = " ".join(title.split())[:TITLE_LIMIT] or default_title(search_name, key)
    if not body_template or (body == "" and errors):
        body = default_body(fields)
    final_link = link or default_link
    return Rendered(
        title=_clean(title),
        body=_clean(body),
        link=_clean(final_link) if final_link else None,
        error="; ".join(errors) or None,
    )


def _clean(text: str) -> str:
    """Postgres text cannot hold NUL; log lines sometimes do."""
    return text.replace("\x00", "\ufffd")


def default_title(search_name: str, key: str) -> str:
    if key.startswith(("id:", "hash:", "sha256:")) or key == "count":
        return search_name
    return f"{search_name}: {key}"[:TITLE_LIMIT]


def default_body(fields: dict[str, Any]) -> str:
    lines = []
    for name, value in list(fields.items())[:BODY_FIELDS]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"{name}: {text[:200]}")
    return "\n".join(lines)


def _render(source: str, context: dict[str, Any], errors: list[str], part: str) -> str:
    try:
        return render_template(source, context)
    except InvalidInput as exc:
        errors.append(f"{part} {exc.message}")
        return ""
