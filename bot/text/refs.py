"""IDs that say what they are: ``A-17`` is an alert, ``S-3`` a search, ``SUP-4`` a
suppression (a mute), ``M-2`` a maintenance window.

Plain numbers looked alike in messages ("#17" could be any of them). Every message
shows the prefixed form; every command accepts it, and the bare number as before.
"""

from __future__ import annotations

import enum
import re


class Ref(enum.StrEnum):
    ALERT = "A"
    SEARCH = "S"
    SUPPRESSION = "SUP"
    MAINTENANCE = "M"

    def __call__(self, number: int) -> str:
        return f"{self.value}-{number}"

    def parse(self, raw: str) -> int | None:
        """The number in ``A-17``, ``a-17``, ``#17`` or ``17`` (for Ref.ALERT); None otherwise."""
        match = _REF.match(raw.strip())
        if not match:
            return None
        prefix = (match.group("prefix") or "").upper()
        if prefix and prefix != self.value:
            return None
        return int(match.group("number"))


_REF = re.compile(r"^(?:(?P<prefix>[A-Za-z]+)-|#)?(?P<number>\d{1,18})$")
