"""The one interface every data source implements.

A source is a small class: it validates its configuration (errors name the
field), runs over a time window and returns typed results. It does no alert
logic: conditions, keys, dedupe and suppressions belong to the pipeline in
``bot/pipeline``. Each run has a deadline (``Source.deadline``) that a source
honours by bounding its blocking calls and checking it in loops; ``cancel()``
lets the runner interrupt a call in flight.
"""

from __future__ import annotations

import enum
import json
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from searches.fields import FieldCatalog, FieldUse


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
    # Where the hit was read, for sources without a web page to link to ("auth.log:1234").
    where: str | None = None


@dataclass(frozen=True)
class Bucket:
    key: dict[str, Any]  # field name -> value of this bucket
    count: int
    # More fields an alert on this bucket carries, not part of its key (e.g. a statistic).
    fields: dict[str, Any] = field(default_factory=dict)


# One encoder, made once: json.dumps with options builds a new encoder on every call.
_KEY_TEXT = json.JSONEncoder(sort_keys=True, default=str)


def bucket_order(bucket: Bucket) -> tuple[int, str]:
    """The order sources give buckets in: the largest count first, then by key (as JSON)."""
    return -bucket.count, _KEY_TEXT.encode(bucket.key)


@dataclass
class SourceResult:
    kind: ResultKind
    hits: list[Hit] = field(default_factory=list)
    count: int | None = None
    buckets: list[Bucket] = field(default_factory=list)
    truncated: bool = False  # a size cap cut the results
    link: str | None = None  # back to the raw data (e.g. a Kibana Discover URL)
    # The link narrowed to one alert's key values ({"user.name": "lucy.m"}), where the
    # source can build one (Elasticsearch with a Kibana URL): see searches/discover.py.
    link_for: Callable[[Mapping[str, Any]], str] | None = None
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
    """A run failed. ``permanent`` means retrying the same run cannot help (a bad query).

    ``field`` names the config field at fault when one is (e.g. ``index``), so a check
    at save time can show the error on it.
    """

    def __init__(self, message: str, *, permanent: bool = False, field: str | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.field = field


class SourceCancelled(SourceError):
    """The run's deadline passed (or the run was stopped) and the source gave up.

    Raised by ``Deadline.check()``; a source may also raise it itself when a blocking
    call it bounded by ``Deadline.remaining()`` ran out. The runner records the run
    as timed out, not failed.
    """

    def __init__(self, message: str = "the run was stopped at its deadline"):
        super().__init__(message, permanent=False)


@dataclass
class Deadline:
    """When a run must end, and a flag the runner sets to ask the source to stop.

    ``at`` is a ``time.monotonic()`` instant (``math.inf``: no deadline). The runner
    sets ``Source.deadline`` before calling ``run`` and, when the run's timeout
    passes, sets ``cancelled`` and calls ``Source.cancel()``. Sources bound each
    blocking call by ``remaining()`` and call ``check()`` between steps (cheap: one
    clock read and a flag test).
    """

    at: float = math.inf
    cancelled: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(at=time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left (``math.inf`` without a deadline; 0 once expired or cancelled)."""
        if self.cancelled.is_set():
            return 0.0
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.cancelled.is_set() or time.monotonic() >= self.at

    def check(self) -> None:
        """Raise ``SourceCancelled`` once the deadline passed or the run was stopped."""
        if self.expired():
            raise SourceCancelled()

    def bound(self, seconds: float) -> float:
        """``seconds`` capped by the time left: the timeout to give one blocking call.

        Raises ``SourceCancelled`` when no time is left, so no call starts with a
        zero timeout (which some libraries read as "no timeout" or "non-blocking").
        """
        left = self.remaining()
        if left <= 0.0:
            raise SourceCancelled()
        return min(seconds, left)

    def cancel(self) -> None:
        self.cancelled.set()


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
    # Every blocking call of ``run`` is bounded by the deadline, so the runner may call it
    # in the run's own thread (one thread hand-off fewer per run). A source that cannot
    # promise it (the default) runs in a thread the runner can abandon.
    stops_at_deadline: ClassVar[bool] = False

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
        """Query the data for ``window``; raise SourceError on failure.

        Respect ``self.deadline``: bound blocking calls by ``self.deadline.remaining()``
        (or ``bound(own_timeout)``) and call ``self.deadline.check()`` between steps.
        """

    @property
    def deadline(self) -> Deadline:
        """The current run's deadline, set by the runner before ``run``.

        Without a runner (a source used directly) there is none: ``remaining()`` is
        infinite. Kept outside ``__init__`` so sources written before deadlines existed
        (whose ``__init__`` may not call ``super()``) still work.
        """
        deadline: Deadline | None = self.__dict__.get("_deadline")
        if deadline is None:
            deadline = self.__dict__["_deadline"] = Deadline()
        return deadline

    @deadline.setter
    def deadline(self, value: Deadline) -> None:
        self.__dict__["_deadline"] = value

    # ------------------------------------------------------------ field checks
    # Optional hooks that let 411 check, at save, test and run time, that the fields a
    # search names exist in its data (see searches/fields.py). The defaults check nothing.

    def environment_problems(self) -> list[FieldError]:
        """Problems with what the config names in the environment (an unknown cluster).

        Must not reach the network; field names are relative to ``source_config``.
        """
        return []

    def field_uses(self) -> list[FieldUse]:
        """The fields this config names (group-by, fields to keep, the time field)."""
        return []

    def result_names(self) -> frozenset[str] | None:
        """The only fields each result carries, when fixed (a bucket: its group-by and count).

        None: results are documents, which carry whatever the data has.
        """
        return None

    def field_catalog(self) -> FieldCatalog | None:
        """The fields the data has (may query it); None when the source cannot tell.

        Raises SourceError when the data cannot be reached (``permanent`` when asking
        again cannot help, e.g. the server is not what the config says it is).
        """
        return None

    def cancel(self) -> None:  # noqa: B027 - optional hook
        """Stop the work of a ``run`` going on in another thread, as far as possible.

        Called by the runner from its own thread when the run's deadline passes, after
        ``deadline.cancelled`` is set (e.g. cancel a database statement or close a
        socket). It must not block and must not fail if ``run`` already returned.
        ``run`` should then end soon, raising ``SourceCancelled``. The default does
        nothing: a source whose blocking calls are bounded by ``deadline.remaining()``
        and which calls ``deadline.check()`` in its loops needs nothing more. A source
        that does neither is abandoned at its deadline (its thread keeps running).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients or files; the runner calls it after each run (once ``run`` ended)."""
