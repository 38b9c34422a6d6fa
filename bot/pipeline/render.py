"""Alert title, body and link from the search's templates, rendered in the sandbox.

A broken template must not lose the alert: the default title is used and the
error is kept with the alert, so its author can fix the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidInput
from bot.text.fields import MISSING, lookup, template_fields
from bot.text.templates import render_template

TITLE_LIMIT = 300
BODY_FIELDS = 12  # the default body lists at most this many fields
SALIENT = ("message", "msg", "event.original", "log.message", "error.message")
SHORT = 60  # a field value this long or shorter can stand in a default title
TITLE_FIELDS = 3
_NOT_TITLE = ("@timestamp", "timestamp", "time", "count")  # the same on every hit: no help


@dataclass(frozen=True)
class TitleHints:
    """What the default title (no title template, or one that rendered empty) is made of."""

    key_fields: Sequence[str] = ()
    group: Mapping[str, Any] | None = None  # bucket or group values
    summary: str | None = None  # an aggregate's count and condition ("count 0 < 1 over 5m")


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
    hints: TitleHints | None = None,
) -> Rendered:
    view, top = template_fields(fields)
    context = {**top, "fields": view, "key": key, "occurrences": occurrences, **extra}
    errors: list[str] = []
    title = _render(title_template, context, errors, "title") if title_template else ""
    body = _render(body_template, context, errors, "body") if body_template else ""
    link = _render(link_template, context, errors, "link") if link_template else None
    title = " ".join(title.split())[:TITLE_LIMIT] or default_title(
        search_name, fields, hints or TitleHints()
    )
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


def default_title(search_name: str, fields: Mapping[str, Any], hints: TitleHints) -> str:
    """Something that tells this alert from its siblings; the search name is shown beside it.

    The key fields' values, else the bucket's values, else a hit's message or a few
    short field values; an aggregate adds its count and condition.
    """
    if hints.key_fields:
        label = " · ".join(_short(lookup(fields, name)) for name in hints.key_fields)
    elif hints.group:
        label = " · ".join(_short(value) for value in hints.group.values())
    elif hints.summary is None:
        label = _salient(fields)
    else:
        label = ""
    title = ": ".join(part for part in (label, hints.summary) if part)
    return " ".join(title.split())[:TITLE_LIMIT] or search_name


def _salient(fields: Mapping[str, Any]) -> str:
    for name in SALIENT:
        value = lookup(fields, name)
        if isinstance(value, str) and value.strip() and value != MISSING:
            return value
    shown = []
    for name, value in _flat(fields):
        text = _short(value)
        if name in _NOT_TITLE or not text or len(text) > SHORT:
            continue
        shown.append(f"{name}={text}")
        if len(shown) == TITLE_FIELDS:
            break
    return " · ".join(shown)


def _flat(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for name, value in fields.items():
        if isinstance(value, Mapping):
            pairs.extend(_flat(value, f"{prefix}{name}."))
        else:
            pairs.append((f"{prefix}{name}", value))
    return pairs


def _short(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return "" if value is None else json.dumps(value, default=str)[:SHORT]
    return str(value)


def default_body(fields: dict[str, Any]) -> str:
    lines = []
    for name, value in list(fields.items())[:BODY_FIELDS]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"{name}: {text[:200]}")
    return "\n".join(lines)


def _render(source: str, context: dict[str, Any], errors: list[str], part: str) -> str:
    missing: list[str] = []
    try:
        output = render_template(source, context, missing=missing)
    except InvalidInput as exc:
        errors.append(f"{part} {exc.message}")
        return ""
    # A misspelt name renders as "" (log fields are often absent), but is not silent.
    errors.extend(f"{part}: {message}" for message in missing)
    return output
