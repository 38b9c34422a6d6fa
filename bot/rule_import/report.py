"""What an import did, rule by rule: converted into a search, or not, with the reason.

Shared by every rule format. An import never stops at the first bad rule: each
rule ends up in exactly one of the two lists, and the caller decides from
``ok`` whether the run as a whole failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.definitions.search import SearchDefinition


@dataclass(frozen=True)
class Converted:
    """One rule that became a search; ``notes`` lists what of the rule was not carried over,
    ``examples`` the events that prove it (written as the search's ``examples:``)."""

    where: str  # the file, and the rule's place in it when a file holds several
    definition: SearchDefinition
    notes: tuple[str, ...] = ()
    examples: dict[str, Any] | None = None


@dataclass(frozen=True)
class NotConverted:
    """One rule (or file) that did not become a search, and why, in the converter's words."""

    where: str
    rule: str  # the rule's title or id, as far as it could be read
    reason: str
    field: str | None = None  # the search field at fault (a chosen option), if not the rule


@dataclass
class ConversionReport:
    converted: list[Converted] = field(default_factory=list)
    failed: list[NotConverted] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def extend(self, other: ConversionReport) -> None:
        self.converted.extend(other.converted)
        self.failed.extend(other.failed)

    def write(self, out: TextIO, err: TextIO, *, verbose: bool = False) -> None:
        """Every rule that failed with its reason (to ``err``); with ``verbose`` the converted
        ones too; then the counts."""
        if verbose:
            for item in self.converted:
                print(f"converted: {item.where}: {item.definition.name}", file=out)
                for note in item.notes:
                    print(f"    not carried over: {note}", file=out)
        for failure in self.failed:
            print(f"not convertible: {failure.where}: {failure.rule}: {failure.reason}", file=err)
        print(f"{len(self.converted)} converted, {len(self.failed)} not convertible", file=out)
