"""A Sigma rule's regression event as the document its converted search queries.

SigmaHQ pairs rules with a real event captured where the rule fires (its
regression data: ``rule.yml`` and ``event.json`` in one folder here, or
``X.yml`` beside ``X.json``). The event is a Windows event record as JSON
(``Event.System`` and ``Event.EventData``); an importer turns it into the
search's ``examples: {must_fire: [...]}`` so that ``411 search verify`` proves
the conversion. The document has the shape the chosen pipeline queries: with
``ecs_windows``, the one Winlogbeat 7+ ships (every raw field under
``winlog.event_data``, the record's system fields under ``winlog``, and the ECS
fields its ingest pipeline fills). Which field a raw field fills is asked of the
pySigma pipeline itself, per log source, so documents and converted queries name
fields alike by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WINLOGBEAT_PIPELINE = "ecs_windows"  # the pipeline whose documents carry Winlogbeat's winlog.*
NO_PIPELINE = "none"  # Sigma's own field names (bot.rule_import.sigma.NO_PIPELINE)


class NotAnEvent(ValueError):
    """The file beside a rule holds no Windows event record this module can shape."""


def event_file(rule_path: Path) -> Path | None:
    """The regression event beside a rule file, if there is one."""
    candidates = [rule_path.with_suffix(".json")]
    if rule_path.stem == "rule":  # the regression layout: <rule id>/rule.yml + event.json
        candidates.append(rule_path.with_name("event.json"))
    return next((p for p in candidates if p.is_file()), None)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The event records in ``path`` (one JSON object, or several written one after another)."""
    try:
        events = list(json_objects(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotAnEvent(f"{path.name}: cannot read: {exc}") from None
    if not events or not all(_is_windows_record(e) for e in events):
        raise NotAnEvent(f"{path.name}: not a Windows event record (Event.System)")
    return events


def _is_windows_record(event: Any) -> bool:
    return isinstance(event, dict) and isinstance(event.get("Event", {}).get("System"), dict)


def json_objects(path: Path) -> Iterator[Any]:
    """The JSON values written one after another in ``path`` (one, or several)."""
    text, decoder, at = path.read_text(encoding="utf-8"), json.JSONDecoder(), 0
    while (at := _skip_space(text, at)) < len(text):
        value, at = decoder.raw_decode(text, at)
        yield value


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def detection_fields(detection: Any) -> Iterator[str]:
    """Every field name a (processed) rule's detection items name."""
    for item in detection.detection_items:
        if hasattr(item, "detection_items"):
            yield from detection_fields(item)
        elif item.field:
            yield item.field


def ecs_names(logsource: Any, raw_fields: list[str], pipeline: str) -> dict[str, list[str]]:
    """raw field -> the field names ``pipeline`` maps it to, for rules of ``logsource``.

    One probe rule with a selection per raw field goes through the pipeline once.
    """
    from sigma.pipelines.elasticsearch import pipelines
    from sigma.rule import SigmaRule

    if pipeline == NO_PIPELINE:
        return {raw: [raw] for raw in raw_fields}
    selections = {f"probe{n}": {raw: "x"} for n, raw in enumerate(raw_fields)}
    rule_dict = {
        "title": "field probe",
        "logsource": logsource.to_dict(),
        "detection": {**selections, "condition": "1 of probe*"},
    }
    rule = SigmaRule.from_dict(rule_dict)
    pipelines[pipeline]().apply(rule)
    detections = rule.detection.detections
    return {
        raw: sorted(set(detection_fields(detections[f"probe{n}"])))
        for n, raw in enumerate(raw_fields)
    }


def put(document: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted field as nested objects; a value already there wins."""
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return  # a scalar holds that path already (two raw fields, one ECS field)
    node.setdefault(last, value)


def event_document(
    event: dict[str, Any], logsource: Any, pipeline: str, timestamp: str | None = None
) -> dict[str, Any]:
    """The event as indexed for ``pipeline``: Winlogbeat 7+'s shape for ``ecs_windows``,
    otherwise only the fields the pipeline names. Without ``timestamp``, no ``@timestamp``
    (``411 search verify`` places such an event inside the window it checks)."""
    system = event["Event"]["System"]
    data = {k: v for k, v in (event["Event"].get("EventData") or {}).items() if v is not None}
    provider = system.get("Provider", {}).get("#attributes", {}).get("Name")
    event_id = system.get("EventID")
    if isinstance(event_id, dict):  # <EventID Qualifiers="...">4657</EventID>
        event_id = event_id.get("#text")
    raw = {
        **data,
        "EventID": event_id,
        "Channel": system.get("Channel"),
        "Provider_Name": provider,
        "ComputerName": system.get("Computer"),
    }
    document: dict[str, Any] = {} if timestamp is None else {"@timestamp": timestamp}
    if pipeline == WINLOGBEAT_PIPELINE:
        document["winlog"] = {
            "event_data": data,
            "event_id": str(event_id),
            "channel": system.get("Channel"),
            "provider_name": provider,
            "computer_name": system.get("Computer"),
        }
        document["event"] = {"code": str(event_id)}
    for name, targets in ecs_names(logsource, sorted(raw), pipeline).items():
        if raw[name] is None:
            continue
        for target in targets:
            put(document, target.removesuffix(".caseless"), raw[name])
    return document


def must_fire_examples(rule_path: Path, logsource: Any, pipeline: str) -> dict[str, Any] | None:
    """``{must_fire: [document]}`` from the event beside the rule; None without one.

    A capture of several events is one example (``{events: [...]}``, checked together):
    the rule must fire on the capture, not on each event of it, since a capture also
    holds what happened alongside (the ``:Zone.Identifier`` stream of a dropped file,
    the ``tasklist`` piped into ``findstr``). NotAnEvent says why a file beside the
    rule gives no example.
    """
    path = event_file(rule_path)
    if path is None:
        return None
    documents = [event_document(e, logsource, pipeline) for e in read_events(path)]
    return {"must_fire": [documents[0] if len(documents) == 1 else {"events": documents}]}
