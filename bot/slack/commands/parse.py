"""Parse the text after ``/411``: words, quoted phrases and ``key=value`` options.

Slack sends curly quotes when a user's client "smartens" them; they are folded
to straight ones first so ``name="a b"`` works however it was typed. Slack also
escapes mentions it recognises (``<@U123|bob>``, ``<#C123|alerts>``,
``<!subteam^S1|@oncall>``): ``slack_ref`` turns those back into IDs. Like every
text Slack hands an app, the command's text has ``&``, ``<`` and ``>`` as entities
and typed URLs as links (``<https://x/y>``, ``<http://x.com|x.com>``):
``decode_slack_text`` gives back what the user typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.errors import InvalidInput

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_REF = re.compile(r"^<([@#]|!subteam\^)([A-Z0-9_]+)(?:\|[^>]*)?>$")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def decode_slack_text(text: str) -> str:
    """Links back to what was typed, then the three entities back to characters."""
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass
class Args:
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    def word(self, index: int, name: str) -> str:
        if index >= len(self.words):
            raise InvalidInput(f"Missing {name}.", field=name)
        return self.words[index]


@dataclass
class _Token:
    text: str = ""
    eq_at: int | None = None  # where an unquoted "=" splits key and value
    quoted_key: bool = False  # a quote opened before any "=": the whole token is a word


def _tokens(text: str) -> list[_Token]:
    """Shell-like words (quotes group, backslash escapes in double quotes), remembering
    whether ``key=`` was written unquoted: ``"user=bob"`` is a word, ``user="bob"`` an option."""
    tokens: list[_Token] = []
    current: _Token | None = None
    quote: str | None = None
    chars = iter(text)
    for ch in chars:
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                current.text += next(chars, "")  # type: ignore[union-attr]
            else:
                current.text += ch  # type: ignore[union-attr]
            continue
        if ch.isspace():
            if current is not None:
                tokens.append(current)
                current = None
            continue
        current = current or _Token()
        if ch in "\"'":
            quote = ch
            current.quoted_key = current.quoted_key or current.eq_at is None
        elif ch == "=" and current.eq_at is None and not current.quoted_key:
            current.eq_at = len(current.text)
            current.text += ch
        else:
            current.text += ch
    if quote:
        raise ValueError("No closing quotation")
    if current is not None:
        tokens.append(current)
    return tokens


def parse(text: str) -> Args:
    """Split into words and options; an unbalanced quote is a clear error, not a crash."""
    try:
        tokens = _tokens(decode_slack_text(text or "").translate(_QUOTES))
    except ValueError as exc:
        raise InvalidInput(f"Could not read the command: {exc} (check your quotes).") from None
    args = Args()
    for token in tokens:
        key = token.text[: token.eq_at] if token.eq_at is not None else ""
        if key and _KEY.match(key) and not token.text.startswith(("http://", "https://")):
            key = key.lower()
            if key in args.options:
                raise InvalidInput(f"`{key}` is given twice.", field=key)
            args.options[key] = token.text[len(key) + 1 :]
        else:
            args.words.append(token.text)
    return args


def slack_ref(value: str) -> str:
    """``<@U1|bob>`` -> ``U1``, ``<#C1|alerts>`` -> ``C1``, ``<!subteam^S1>`` -> ``S1``; else as given."""
    match = _REF.match(value.strip())
    if match:
        return match.group(2)
    return value.strip()
