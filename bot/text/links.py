"""Links to Slack messages: a DM or a digest points at an alert's message in its channel."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bot.text.escape import is_slack_id

_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def permalink_base(slack_api_url: str) -> str:
    """``https://slack.com/api/`` -> ``https://slack.com/archives/``.

    Slack redirects ``slack.com/archives/<channel>/p<ts>`` to the reader's workspace;
    the local stand-in serves the same path next to its ``/api/``.
    """
    return urljoin(slack_api_url, "../archives/")


def message_link(base: str, channel: str | None, ts: str | None) -> str | None:
    if not (channel and ts and is_slack_id(channel) and _TS.match(ts)):
        return None
    return f"{base}{channel}/p{ts.replace('.', '')}"
