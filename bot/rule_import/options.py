"""Where imported searches go and who gets their alerts: what the user chose for a whole import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ImportOptions:
    index: str | None = None  # None: the converter's default for the rule's kind of logs
    cluster: str | None = None  # None: the "default" cluster
    channel: str | None = None
    owner: str | None = None
    schedule: str = "every 5m"
    enabled: bool = True

    def search_fields(self) -> dict[str, Any]:
        """The raw definition fields these options fill (parse_definition checks them)."""
        raw: dict[str, Any] = {"schedule": self.schedule, "enabled": self.enabled}
        if self.channel:
            raw["channel"] = self.channel
        if self.owner:
            raw["owner"] = self.owner
        return raw

    def source_config(self, default_index: str) -> dict[str, Any]:
        config: dict[str, Any] = {"index": self.index or default_index}
        if self.cluster:
            config["cluster"] = self.cluster
        return config
