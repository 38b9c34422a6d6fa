"""What Slack does to a slash command's text when the command has `should_escape: true`.

The manifest declares `/411` with `should_escape: true`, so Slack rewrites mentions it
recognises before the app sees them:

    #alerts   -> <#C_ALERTS|alerts>
    @carol    -> <@U_CAROL|carol>
    @oncall   -> <!subteam^S_ONCALL|@oncall>
    @here     -> <!here>          (also @channel, @everyone)

Names nobody in the workspace has stay as typed, as in Slack. A mention starts after the
start of the text, a space or punctuation (`channel=#alerts` counts), never inside a word
(`bob@example.com` is no mention).

Before that, as in every text Slack hands an app, `&`, `<` and `>` typed by the user
arrive as `&amp;`, `&lt;` and `&gt;`, and URLs typed in full arrive as links
(`https://x.example/a` -> `<https://x.example/a>`). Bare domains, which Slack also
links, are left as typed here.
"""

from __future__ import annotations

import re

from standin.state import Workspace

_MENTION = re.compile(r"(?<![A-Za-z0-9_<|^])([#@])([A-Za-z0-9][A-Za-z0-9._\-]*)")
_BROADCASTS = ("here", "channel", "everyone")
_URL = re.compile(r"(?<![<|])\bhttps?://[^\s<>|\"']+")


def escape_command_text(workspace: Workspace, text: str) -> str:
    """The text as an app receives it: entities escaped, URLs linked, known mentions escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _URL.sub(lambda m: f"<{m.group(0)}>", text)
    return _MENTION.sub(lambda m: _escape(workspace, m.group(1), m.group(2)), text)


def _escape(workspace: Workspace, sigil: str, word: str) -> str:
    # "@carol." or "#alerts," end a sentence: the punctuation is not part of the name.
    name = word.rstrip(".-")
    rest = word[len(name) :]
    found = _channel(workspace, name) if sigil == "#" else _person_or_group(workspace, name)
    return found + rest if found else sigil + word


def _channel(workspace: Workspace, name: str) -> str | None:
    with workspace.lock:
        channel = next(
            (c for c in workspace.channels.values() if not c.is_im and c.name == name.lower()),
            None,
        )
    return f"<#{channel.id}|{channel.name}>" if channel else None


def _person_or_group(workspace: Workspace, name: str) -> str | None:
    lowered = name.lower()
    if lowered in _BROADCASTS:
        return f"<!{lowered}>"
    with workspace.lock:
        user = next((u for u in workspace.users.values() if u.name == lowered), None)
        group = next((g for g in workspace.usergroups.values() if g.handle == lowered), None)
    if user is not None:
        return f"<@{user.id}|{user.name}>"
    if group is not None:
        return f"<!subteam^{group.id}|@{group.handle}>"
    return None
