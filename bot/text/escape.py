"""Untrusted text in Slack mrkdwn: escape it, truncate it visibly, put raw values in code.

The one escaping path: every piece of text that did not come from this codebase (search
names, descriptions, notes, titles, errors from sources, echoes of what someone typed)
passes :func:`escape_mrkdwn` (or :func:`code`, :func:`safe_text`, which use it; or
:func:`plain` for ``plain_text``) before it reaches Slack.

Slack's control sequences all start with ``<`` (``<!channel>``, ``<@U123>``,
``<!subteam^S1>``, ``<http://x|label>``), so escaping ``& < >`` exactly as Slack
documents neutralises every one of them. Formatting characters (``*_~```) still
apply after escaping, which is why raw values go inside code spans. Bidirectional
control characters (U+202E "right-to-left override" and its kin) are removed: they
make text read other than it is (``exe.txt`` shown as ``txt.exe``).
"""

from __future__ import annotations

import re

TRUNCATION_MARKER = "… [truncated]"
# A backtick would end the code span early; this look-alike keeps the text readable.
_BACKTICK_STANDIN = "\u02cb"
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the invisible
# direction marks (U+200E, U+200F, U+061C): none belongs in an alert.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def strip_bidi(text: str) -> str:
    return _BIDI.sub("", text)


def escape_mrkdwn(text: object) -> str:
    """Escape ``&`` first, then ``<`` and ``>``: exactly Slack's three entities; drop bidi
    controls."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return strip_bidi(escaped)


def truncate(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """At most ``limit`` characters; a cut shows ``marker`` so nobody mistakes it for the whole.

    An escaped entity (``&amp;``) is never cut in half: that would show as garbage.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    head = text[: limit - len(marker)]
    head = _PARTIAL_ENTITY.sub("", head)
    return head + marker


def safe_text(text: object, limit: int) -> str:
    """Escaped untrusted text, truncated to ``limit`` after escaping."""
    return truncate(escape_mrkdwn(text), limit)


def code(text: object, limit: int = 500) -> str:
    """A raw value as an inline code span: no formatting, no mentions, no links.

    Inline code cannot hold a newline or a backtick, so those are replaced; an empty
    value shows as an italic placeholder instead of a pair of bare backticks.
    """
    raw = str(text)
    if not raw.strip():
        return "_(empty)_"
    raw = raw.replace("`", _BACKTICK_STANDIN).replace("\r", " ").replace("\n", " ")
    return "`" + truncate(escape_mrkdwn(raw), max(1, limit - 2)) + "`"


def code_block(text: object, limit: int = 2900) -> str:
    """A multi-line raw value as a preformatted block."""
    raw = str(text).replace("```", _BACKTICK_STANDIN * 3)
    if not raw.strip():
        return "_(empty)_"
    return "```" + truncate(escape_mrkdwn(raw), max(1, limit - 6)) + "```"


def plain(text: object, limit: int) -> str:
    """Text for a ``plain_text`` object: no escaping needed, but never empty and never too long."""
    value = " ".join(strip_bidi(str(text)).split()) or "-"
    return truncate(value, limit)


_SLACK_ID = re.compile(r"^[UWSCGD][A-Z0-9_]{1,30}$")


def is_slack_id(value: str | None) -> bool:
    """An ID we may wrap in ``<@...>`` or ``<#...>``: letters, digits and underscores only."""
    return bool(value) and bool(_SLACK_ID.match(value or ""))


def mention_user(user_id: str | None) -> str:
    """``<@U123>`` for a well-formed ID; anything else is shown as escaped text."""
    if user_id and is_slack_id(user_id) and user_id[0] in "UW":
        return f"<@{user_id}>"
    return escape_mrkdwn(user_id or "someone")


def mention_group(group_id: str | None) -> str:
    if group_id and is_slack_id(group_id) and group_id[0] == "S":
        return f"<!subteam^{group_id}>"
    return ""


def mention_channel(channel_id: str | None) -> str:
    if channel_id and is_slack_id(channel_id) and channel_id[0] in "CGD":
        return f"<#{channel_id}>"
    return escape_mrkdwn(channel_id or "-")


def slack_date(epoch: float, fmt: str = "{date_short_pretty} {time}", fallback: str = "") -> str:
    """Slack's date formatting: each reader sees the time in their own time zone."""
    seconds = int(epoch)
    return f"<!date^{seconds}^{fmt}|{escape_mrkdwn(fallback) or seconds}>"
