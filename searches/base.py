"""The one interface every data source implements.

A source is a small class: it validates its configuration (errors name the
field), runs over a time window and returns typed results. It does no alert
logic: conditions, keys, dedupe and suppressions belong to the pipeline in
``bot/pipeline``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class ResultKind(enum.StrEnum):
    """What a run of a source produces, which decides how the pipeline windows it."""

    HITS = "hits"  # documents; one alert per hit, windows are gap-free and overlap-free
    COUNT = "count"  # one number over the look-back range (sliding window)
    BUCKETS = "buckets"  # counts per distinct value of chosen fields (sliding window)


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval [start, end) in UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Hit:
    id: str | None
    timestamp: datetime | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class Bucket:
    key: dict[str, Any]  # field name -> value of this bucket
    count: int


@dataclass
class SourceResult:
    kind: ResultKind
    hits: list[Hit] = field(default_factory=list)
    count: int | None = None
    buckets: list[Bucket] = field(default_factory=list)
    truncated: bool = False  # a size cap cut the results
    link: str | None = None  # back to the raw data (e.g. a Kibana Discover URL)
    warnings: list[str] = field(default_factory=list)  # e.g. "3 malformed lines skipped"


@dataclass(frozen=True)
class FieldError:
    field: str  # dotted path inside the source config, e.g. "query" or "auth.api_key"
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SourceConfigError(ValueError):
    """The configuration is invalid; carries every problem found, each naming its field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


class SourceError(Exception):
    """A run failed. ``permanent`` means retrying the same run cannot help (a bad query)."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SourceContext:
    """What a source may use besides its own config; handed in so sources stay testable."""

    search_id: int | None = None
    search_name: str = ""
    settings: Any = None  # bot.config.Settings (kept Any to avoid importing bot from searches)
    engine: Engine | None = None  # 411's own database (for the alerts and push sources)


class Source(ABC):
    """Base class of every source. Subclasses set ``name`` and implement the hooks."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    # Reads the bot host's files or arbitrary databases: only admins may use it from Slack.
    privileged: ClassVar[bool] = False

    def __init__(self, config: Any, context: SourceContext):
        self.config = config
        self.context = context

    @classmethod
    @abstractmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> Any:
        """Validate ``raw`` and return a typed config; raise SourceConfigError listing all errors."""

    @abstractmethod
    def result_kind(self) -> ResultKind:
        """What ``run`` returns for this configuration."""

    @abstractmethod
    def run(self, window: TimeWindow) -> SourceResult:
        """Query the data for ``window``; raise SourceError on failure."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients or files; the runner calls it after each run."""
