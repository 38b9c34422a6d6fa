"""What changed between two revisions of a search: a field diff, for `search show`'s history.

Each revision keeps a full snapshot of the definition (``SearchRevision.snapshot``);
the diff is computed between consecutive snapshots, so every revision ever written
shows what it changed, and the "why" its author gave is its ``reason``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SHOWN = 40  # characters of a value shown before "…"


def field_diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[str]:
    """``field: old → new`` per changed field (source settings one by one), in field order."""
    if before is None:
        return []
    changes: list[str] = []
    for name in dict.fromkeys([*after, *before]):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes += [f"{name}.{line}" for line in field_diff(old, new)]
        else:
            changes.append(f"{name}: {_short(old)} → {_short(new)}")
    return changes


def _short(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "∅"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"
