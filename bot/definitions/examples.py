"""Example events a search carries as its proof: some must make it fire, some must not.

The format (documented in searches/README.md, "Examples"), in the search's YAML::

    examples:
      must_fire:
        - {event.type: ssh, labels.env: production, user.role: marketing}  # one event
        - repeat: 21                    # one event, 21 times (for "count > 20")
          event: {event.outcome: failure, source.ip: 203.0.113.7}
        - events: [{user: a}, {user: b}]  # several events, checked together
      must_not_fire:
        - {event.type: ssh, labels.env: production, user.role: engineering}

or beside it, in ``<file>.examples.yaml``: the same ``must_fire``/``must_not_fire``
mapping for a file of one search, or ``{<search name>: {must_fire: …}}`` for several.
Each entry is checked on its own: its events are the only data the search sees.
Dotted keys are fields (``event.type`` is ``{"event": {"type": …}}``); an event
without the search's time field gets one inside the window checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KINDS = ("must_fire", "must_not_fire")
BESIDE = ".examples.yaml"  # the suffix of a file of examples beside a search file
MAX_REPEAT = 10_000


@dataclass(frozen=True)
class Example:
    kind: str  # "must_fire" or "must_not_fire"
    number: int  # its position in its list, from 1
    events: tuple[dict[str, Any], ...]

    @property
    def label(self) -> str:
        return f"{self.kind}[{self.number}]"


@dataclass
class Examples:
    items: list[Example] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "examples.must_fire[2]: ..."


def parse_examples(raw: Any, where: str = "examples") -> Examples:
    """Read the ``examples`` mapping; every problem names its entry."""
    found = Examples()
    if raw is None:
        return found
    if not isinstance(raw, Mapping):
        found.problems.append(f"{where}: must be a mapping with must_fire and/or must_not_fire")
        return found
    for key in raw:
        if key not in KINDS:
            found.problems.append(f"{where}.{key}: unknown; use must_fire or must_not_fire")
    for kind in KINDS:
        entries = raw.get(kind) or []
        if not isinstance(entries, list):
            found.problems.append(f"{where}.{kind}: must be a list of events")
            continue
        for number, entry in enumerate(entries, 1):
            try:
                found.items.append(Example(kind, number, tuple(_events(entry))))
            except ValueError as exc:
                found.problems.append(f"{where}.{kind}[{number}]: {exc}")
    return found


def _events(entry: Any) -> list[dict[str, Any]]:
    if not isinstance(entry, Mapping):
        raise ValueError("must be an event (a mapping of fields) or {repeat: N, event: {...}}")
    if "event" in entry and set(entry) <= {"event", "repeat"}:
        repeat = entry.get("repeat", 1)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= MAX_REPEAT:
            raise ValueError(f"repeat must be a whole number from 1 to {MAX_REPEAT}")
        return [nested(_event(entry["event"])) for _ in range(repeat)]
    if "events" in entry and set(entry) == {"events"}:
        if not isinstance(entry["events"], list) or not entry["events"]:
            raise ValueError("events must be a non-empty list of events")
        return [nested(_event(event)) for event in entry["events"]]
    return [nested(_event(entry))]


def _event(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("an event must be a non-empty mapping of fields")
    return {str(k): v for k, v in value.items()}


def nested(event: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys as objects, as Elasticsearch indexes them: ``a.b: 1`` is ``{a: {b: 1}}``."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        target = out
        *heads, last = key.split(".")
        for head in heads:
            child = target.get(head)
            if not isinstance(child, dict):
                child = target[head] = {}
            target = child
        target[last] = nested(value) if isinstance(value, Mapping) else value
    return out


def beside(path: Path) -> Path:
    """Where a search file's examples may be kept: ``x.yaml`` -> ``x.examples.yaml``."""
    return path.with_name(path.name.removesuffix(path.suffix) + BESIDE)


def examples_beside(path: Path, names: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The raw examples per search name from the file beside ``path`` (if any), and problems."""
    other = beside(path)
    if not other.is_file():
        return {}, []
    try:
        raw = yaml.safe_load(other.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return {}, [f"{other}: cannot read: {exc}"]
    if isinstance(raw, Mapping) and set(raw) <= set(KINDS) and len(names) == 1:
        return {names[0]: raw}, []
    if not isinstance(raw, Mapping):
        return {}, [f"{other}: must map search names to their examples"]
    unknown = [f"{other}: {key!r} is no search of {path.name}" for key in raw if key not in names]
    return {str(k): v for k, v in raw.items() if k in names}, unknown
