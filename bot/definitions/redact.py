"""Masking secrets for display: URL passwords, auth headers, tokens.

A search definition is shown to users (``411 search show``, ``/411 search show``)
and its source config may hold credentials: a database URL with a password, an
``Authorization`` header. Display code passes the definition through
:func:`redact_config`; exports keep real values (they are the operator's files) and
use :func:`plain_secrets` to warn about them instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Names (header names, config keys, URL query parameters) whose values are credentials.
_SECRET_NAME = re.compile(
    r"^(?:proxy-)?authorization$|^(?:set-)?cookie$|api[-_]?key|token|secret|passw(?:or)?d|^pwd$"
    r"|^x-auth|^auth$|credential|private[-_]?key",
    re.I,
)
# Prefixes of Slack tokens: they say which kind of token it is, never part of the secret.
_SLACK_PREFIXES = ("xoxb-", "xapp-")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def mask_url(url: str) -> str:
    """``url`` with any password (userinfo or a secret-looking query parameter) masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            masked = [(k, MASK if is_secret_name(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def mask_secret(secret: str | None) -> str:
    """A token or secret for display: never any of its characters, only a known prefix."""
    if not secret:
        return "(not set)"
    prefix = next((p for p in _SLACK_PREFIXES if secret.startswith(p)), "")
    return f"{prefix}{MASK} ({len(secret)} chars)"


def redact_config(value: Any, key: str = "") -> Any:
    """A copy of a (nested) config with secret values masked.

    Values under a secret-looking key are masked whole; URLs in any text lose their
    password. Keys ending in ``_env`` hold names of environment variables, which are
    not secret and stay readable.
    """
    if key.endswith("_env"):
        return value
    if isinstance(value, Mapping):
        return {k: redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_config(v, key) for v in value]
    if isinstance(value, str):
        if key and is_secret_name(key):
            return MASK
        return mask_url(value) if "://" in value else value
    if key and is_secret_name(key) and value is not None:
        return MASK
    return value


def plain_secrets(value: Any, path: str = "") -> list[str]:
    """The dotted paths of config values :func:`redact_config` would mask."""
    if path.rpartition(".")[2].endswith("_env"):
        return []
    key = path.rpartition(".")[2]
    if isinstance(value, Mapping):
        found: list[str] = []
        for k, v in value.items():
            found.extend(plain_secrets(v, f"{path}.{k}" if path else str(k)))
        return found
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in plain_secrets(v, f"{path}[{i}]")]
    if value is None or redact_config(value, key) == value:
        return []
    return [path]
