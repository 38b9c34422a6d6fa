"""The corpus tests' expectations file: every rule that does not do what it should, and why.

The file is the list of known misses. A test fails when its actual misses differ
from it in either direction: a new miss is a regression, and a miss that went away
must leave the list (so the list never grows stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

EXPECTATIONS = Path(__file__).with_name("sigma_expectations.yaml")


def expected(section: str) -> dict[str, Any]:
    data = yaml.safe_load(EXPECTATIONS.read_text(encoding="utf-8"))
    return data[section]


def report_difference(actual: dict[str, dict[str, Any]], expected: dict[str, Any]) -> None:
    """Fail naming each rule that is in one list and not the other (reasons are not compared;
    rule lists, as in ``matches_other_events``, are)."""
    problems: list[str] = []
    for kind, found in actual.items():
        listed = expected.get(kind) or {}
        for rule in sorted(set(found) - set(listed)):
            problems.append(f"{kind}: {rule}: not in {EXPECTATIONS.name} ({found[rule]})")
        for rule in sorted(set(listed) - set(found)):
            problems.append(f"{kind}: {rule}: listed in {EXPECTATIONS.name} but no longer so")
        for rule in sorted(set(found) & set(listed)):
            if isinstance(found[rule], list) and sorted(found[rule]) != sorted(listed[rule]):
                problems.append(f"{kind}: {rule}: {found[rule]}, listed as {listed[rule]}")
    if problems:
        dump = yaml.safe_dump(actual, sort_keys=True, allow_unicode=True, width=100)
        raise AssertionError("\n".join([*problems, "actual:", dump]))
