"""Elasticsearch or OpenSearch: Lucene ``query_string`` (what 411 users write) or JSON query DSL.

The request bodies are built here once for both products; ``searches.cluster_client``
sends them with the product's own client (see ``searches.es_client`` for how a
cluster's product is known).

Modes:
- ``hits``: the documents whose ``time_field`` lies in [start, end), oldest first,
  at most ``max_hits`` (``truncated`` says more matched).
- ``terms``: counts per distinct value of ``group_by`` fields, computed by
  Elasticsearch (a ``terms`` aggregation for one field, a paged ``composite`` one
  for several: ``multi_terms`` needs the x-pack analytics module, which not every
  cluster has); no document is downloaded. Text fields are grouped by their
  ``.keyword`` sub-field when they have one.
- ``count``: one number from the ``_count`` API.
- ``metric``, ``percentage``, ``spike``, ``new_terms``, ``change``: modes that
  compare a statistic with bounds, a span with the one before, or documents with
  earlier ones (``searches/es_analysis.py``).

A query Elasticsearch rejects is a permanent SourceError carrying its root cause;
a cluster that cannot be reached is a transient one. Each request's timeout is the
config's ``timeout_seconds`` capped by the time left before the run's deadline, so
a hung cluster cannot hold a run past it; the connection is then dropped, which
also makes Elasticsearch cancel the search task (it cancels searches whose HTTP
connection closes). Elasticsearch's own search ``timeout`` is not sent: it returns
partial results, which would pass for complete ones. ``info()``/``ping()`` are never
used: minimal distributions (the integ-test zip) have no ``GET /``; telling the
product from ``GET /`` reads the answer's header, whatever its status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from searches.base import (
    Bucket,
    FieldError,
    ResultKind,
    Source,
    SourceCancelled,
    SourceError,
    SourceResult,
    TimeWindow,
    bucket_order,
)
from searches.cluster_client import Answer, ClusterClient, ClusterRequestError
from searches.common import (
    ConfigReader,
    Mode,
    check_link_template,
    expected_since,
    iso_millis,
    read_expect_groups,
    render_link,
)
from searches.discover import DiscoverQuery, discover_url
from searches.es_analysis import AnalysisMode, Settings, read_mode, read_settings
from searches.es_client import (
    DEFAULT_TIMEOUT,
    cluster_client,
    error_reason,
    es_client,
    find_cluster,
    known_product,
)
from searches.es_groups import AnalysisJob, hit_from
from searches.es_history import change_result, new_terms_result
from searches.es_stats import metric_result, percentage_result, spike_result
from searches.fields import (
    FieldCatalog,
    FieldUse,
    Use,
    catalog_from_field_caps,
    plain_name,
)
from searches.lucene import syntax_error

MAX_HITS = 10_000  # Elasticsearch's own default index.max_result_window
MAX_BUCKETS = 10_000
COMPOSITE_PAGE = 1_000
MAX_SCANNED_BUCKETS = 50_000  # composite pages read before giving up (truncated)
FIELD_CACHE_SECONDS = 300.0
_FIELD_CACHE: dict[tuple[str, str, tuple[str, ...]], tuple[float, list[str]]] = {}
_CATALOG_CACHE: dict[tuple[str, str], tuple[float, FieldCatalog]] = {}


@dataclass(frozen=True)
class ElasticsearchConfig:
    index: str
    cluster: str = "default"
    time_field: str = "@timestamp"
    query: str | None = None  # Lucene query_string
    query_dsl: dict[str, Any] | None = None
    mode: Mode | AnalysisMode = Mode.HITS
    fields: tuple[str, ...] = ()  # _source fields to keep; all when empty
    group_by: tuple[str, ...] = ()
    min_doc_count: int = 1
    max_hits: int = 500
    max_buckets: int = 500
    timeout_seconds: float = DEFAULT_TIMEOUT
    link_template: str | None = None
    expect_groups_seconds: int | None = None  # see searches.common.expected_since
    analysis: Settings | None = None  # the settings of a comparing mode (es_analysis)
    latest_document: bool = False  # terms: each bucket carries its latest document's fields
    allow_no_indices: bool = False  # a pattern matching no index is then no error, only empty

    @property
    def query_text(self) -> str:
        if self.query_dsl is not None:
            return json.dumps(self.query_dsl, separators=(",", ":"))
        return self.query or "*"


def parse_es_config(raw: Mapping[str, Any]) -> ElasticsearchConfig:
    reader = ConfigReader(raw)
    index = reader.text("index")
    if index and any(c in index for c in ' "\\/|#<>'):
        reader.error("index", f"{index!r} is not a valid index pattern")
    query = reader.text("query", None)
    # Checked here as well as by the cluster: a pattern that matches no index yet
    # would otherwise accept a broken query silently until the index appears.
    problem = syntax_error(query) if query else None
    if problem:
        reader.error("query", problem)
    query_dsl = _query_dsl(reader)
    if query is not None and query_dsl is not None:
        reader.error("query", "give either query (Lucene) or query_dsl (JSON), not both")
    mode = read_mode(reader)
    group_by = reader.names("group_by")
    if mode is Mode.TERMS and not group_by:
        reader.error("group_by", "is required in terms mode (the fields to count by)")
    config = ElasticsearchConfig(
        index=index,
        cluster=reader.text("cluster", "default"),
        time_field=reader.text("time_field", "@timestamp"),
        query=query,
        query_dsl=query_dsl,
        mode=mode,
        fields=reader.names("fields"),
        group_by=group_by,
        min_doc_count=reader.integer("min_doc_count", 1, low=1, high=2**31 - 1),
        max_hits=reader.integer("max_hits", 500, low=1, high=MAX_HITS),
        max_buckets=reader.integer("max_buckets", 500, low=1, high=MAX_BUCKETS),
        timeout_seconds=reader.number("timeout_seconds", DEFAULT_TIMEOUT, low=0.1, high=600),
        link_template=check_link_template(reader),
        expect_groups_seconds=read_expect_groups(reader, mode),
        analysis=read_settings(reader, mode),
        latest_document=reader.flag("latest_document", False),
        allow_no_indices=reader.flag("allow_no_indices", False),
    )
    if config.latest_document and mode is not Mode.TERMS:
        reader.error("latest_document", "only applies in terms mode (a document per group)")
    reader.finish()
    return config


def _query_dsl(reader: ConfigReader) -> dict[str, Any] | None:
    value = reader.value("query_dsl")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            reader.error("query_dsl", f"is not valid JSON: {exc}")
            return None
    if not isinstance(value, dict) or len(value) != 1:
        reader.error("query_dsl", 'must be one query object, e.g. {"term": {"user": "root"}}')
        return None
    return value


# ------------------------------------------------------------------- source


class ElasticsearchSource(Source):
    name = "elasticsearch"
    description = "Lucene or query DSL searches on an Elasticsearch or OpenSearch cluster"
    stops_at_deadline = True  # every request's timeout is the time left (_bounded)
    config: ElasticsearchConfig
    # A source serves one run. The multi-search's answer to its planned search, if any:
    _answer: tuple[Mapping[str, Any], Answer] | None = None
    _some_index = False  # a response reported a shard searched: the pattern matches an index

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> ElasticsearchConfig:
        return parse_es_config(raw)

    def result_kind(self) -> ResultKind:
        return self.config.mode.result_kind

    # ------------------------------------------------------------ field checks

    def environment_problems(self) -> list[FieldError]:
        clusters = getattr(self.context.settings, "clusters", None)
        if self.context.settings is None or self.config.cluster in (clusters or {}):
            return []
        try:
            find_cluster(self.context.settings, self.config.cluster)
        except SourceError as exc:
            return [FieldError("cluster", str(exc))]
        return []

    def field_uses(self) -> list[FieldUse]:
        config = self.config
        uses = [FieldUse(config.time_field, "source_config.time_field", Use.TIME)]
        uses += [FieldUse(f, "source_config.group_by", Use.GROUP) for f in config.group_by]
        shown = [f for f in config.fields if "*" not in f]
        uses += [FieldUse(f, "source_config.fields", Use.SHOW) for f in shown]
        return uses

    def result_names(self) -> frozenset[str] | None:
        if self.config.mode not in (Mode.TERMS, Mode.COUNT) or self.config.latest_document:
            return None  # hits, latest documents and the comparing modes carry documents' fields
        return frozenset(plain_name(g) for g in self.config.group_by) | {"count"}

    def field_catalog(self) -> FieldCatalog | None:
        """The mapping of every index of the pattern (field capabilities), kept a few minutes.

        A pattern that matches no index is an error, unless ``allow_no_indices``.
        """
        key = (self.config.cluster, self.config.index)
        cached = _CATALOG_CACHE.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = self._bounded(self.client()).field_caps(self.config.index, ["*"])
        except ClusterRequestError as exc:
            raise self._error(exc) from None
        if not response.get("indices"):
            if self.config.allow_no_indices:
                return None
            raise SourceError(self._no_index_message(), permanent=True, field="index")
        where = f"{self.config.index} on cluster {self.config.cluster}"
        catalog = catalog_from_field_caps(where, response)
        _CATALOG_CACHE[key] = (time.monotonic() + FIELD_CACHE_SECONDS, catalog)
        return catalog

    def _no_index_message(self) -> str:
        return (
            f"index pattern {self.config.index} matches no index on cluster "
            f"{self.config.cluster} (set allow_no_indices: true if that is expected)"
        )

    def _check_some_index(self, client: ClusterClient, result: SourceResult) -> None:
        """An empty result from a pattern that matches no index is an error, not a quiet day.

        Asked only when the result is empty and no response reported a shard searched
        (one small request), so a typo in the pattern never passes for "nothing
        happened" (a dead-man search would alert).
        """
        empty = not result.hits and not result.buckets and not result.count
        if not empty or self.config.allow_no_indices or self._some_index:
            return
        answer = self._bounded(client).field_caps(self.config.index, [self.config.time_field])
        if not answer.get("indices"):
            raise SourceError(self._no_index_message(), permanent=True, field="index")

    def client(self, timeout: float | None = None) -> ClusterClient:
        """The cluster's shared client; its product, when not configured, asked within the deadline.

        Its request timeout is the config's, or ``timeout`` (a multi-search's).
        """
        cluster = find_cluster(self.context.settings, self.config.cluster)
        timeout = timeout or self.config.timeout_seconds
        try:
            return cluster_client(cluster, timeout, detect_timeout=self.deadline.bound(timeout))
        except ValueError as exc:  # e.g. a malformed URL in the environment
            message = f"{self._where()} is misconfigured: {exc}"
            raise SourceError(message, permanent=True) from None

    def run(self, window: TimeWindow) -> SourceResult:
        config = self.config
        query = build_query(config, window)
        try:
            client = self.client()
            if isinstance(config.mode, AnalysisMode):
                result = self._analysis(client, window)
            elif config.mode is Mode.COUNT:
                result = self._count(client, query)
            elif config.mode is Mode.TERMS:
                result = self._terms(client, *self._terms_query(window))
            else:
                result = self._hits(client, query)
            self._check_some_index(client, result)
        except ClusterRequestError as exc:
            if self.deadline.expired():
                raise SourceCancelled(self._stopped_message()) from None
            raise self._error(exc) from None
        result.link = render_link(
            config.link_template, query=config.query_text, window=window, index=config.index
        )
        kibana = getattr(find_cluster(self.context.settings, config.cluster), "kibana_url", None)
        if result.link is None and kibana:
            result.link_for = lambda keys: discover_link(kibana, config, window, keys)
            result.link = result.link_for({})
        return result

    def _bounded(self, client: ClusterClient) -> ClusterClient:
        """The client for the next request: its timeout capped by the run's time left.

        The shared client (cached per timeout) serves while the deadline is further
        away than the config's timeout; a client bound to the time left is built only
        when the deadline is nearer (cheap: it shares the connection pool).
        """
        left = self.deadline.bound(self.config.timeout_seconds)
        if left >= self.config.timeout_seconds:
            return client
        return client.with_timeout(left)

    def _where(self) -> str:
        """ "Elasticsearch cluster 'logs'", or OpenSearch when the cluster is known to be."""
        product = known_product(find_cluster(self.context.settings, self.config.cluster))
        title = product.display_name if product else "Elasticsearch"
        return f"{title} cluster {self.config.cluster!r}"

    def _stopped_message(self) -> str:
        return f"the request to {self._where()} was stopped at the run's deadline"

    # ------------------------------------------------------------ multi-search

    def planned_search(self, window: TimeWindow) -> dict[str, Any] | None:
        """The one search body ``run`` sends for ``window``, when it can travel in a _msearch.

        Count, hits and single-field terms searches whose field's aggregatable form is
        known already (searches.multi_search); None for the others, which send their
        own requests.
        """
        config = self.config
        if config.mode is Mode.COUNT:
            return _count_body(build_query(config, window))
        if config.mode is Mode.HITS:
            return self._hits_body(build_query(config, window))
        if config.mode is Mode.TERMS and len(config.group_by) == 1:
            fields = self._known_aggregatable(config.group_by)
            if fields is None:
                return None  # the first run asks field_caps itself, then the answer is kept
            query, counting = self._terms_query(window)
            return self._single_terms_body(query, fields[0], self._with_latest(counting))
        return None

    def take_answer(self, body: Mapping[str, Any], answer: Answer) -> None:
        """The multi-search's answer to :meth:`planned_search`'s body, used by the next run."""
        self._answer = (body, answer)

    def _search(self, client: ClusterClient, body: dict[str, Any]) -> Mapping[str, Any]:
        """The search's response: the multi-search's answer to this very body, or asked now."""
        response: Mapping[str, Any]
        answered, self._answer = self._answer, None
        if answered is not None and answered[0] == body:
            if isinstance(answered[1], ClusterRequestError):
                raise answered[1]
            response = answered[1]
        else:
            response = self._bounded(client).search(self.config.index, body)
        self._note_shards(response)
        return response

    def _note_shards(self, response: Mapping[str, Any]) -> None:
        shards = response.get("_shards", {}).get("total")
        if isinstance(shards, int) and shards > 0:
            self._some_index = True

    def _count(self, client: ClusterClient, query: dict[str, Any]) -> SourceResult:
        as_search = _count_body(query)
        if self._answer is not None and self._answer[0] == as_search:
            response = self._search(client, as_search)
            return SourceResult(ResultKind.COUNT, count=int(response["hits"]["total"]["value"]))
        response = self._bounded(client).count(self.config.index, {"query": query})
        self._note_shards(response)
        return SourceResult(ResultKind.COUNT, count=int(response["count"]))

    def _hits_body(self, query: dict[str, Any]) -> dict[str, Any]:
        config = self.config
        body: dict[str, Any] = {
            "query": query,
            # unmapped_type: an index of the pattern without the time field sorts, not fails.
            "sort": [
                {config.time_field: {"order": "asc", "unmapped_type": "date"}},
                {"_doc": {"order": "asc"}},
            ],
            "size": config.max_hits,
            "track_total_hits": config.max_hits + 1,  # enough to know it was cut, no more
        }
        if config.fields:
            body["_source"] = {"includes": list(config.fields)}
        return body

    def _hits(self, client: ClusterClient, query: dict[str, Any]) -> SourceResult:
        response = self._search(client, self._hits_body(query))
        hits = [hit_from(raw) for raw in response["hits"]["hits"]]
        total = int(response["hits"]["total"]["value"])
        return SourceResult(ResultKind.HITS, hits=hits, truncated=total > len(hits))

    def _analysis(self, client: ClusterClient, window: TimeWindow) -> SourceResult:
        """Run a comparing mode (``searches/es_analysis.py``) with what it needs of this source."""
        config = self.config
        job = AnalysisJob(
            group_by=config.group_by,
            max_groups=config.max_buckets,
            min_doc_count=config.min_doc_count,
            search=lambda **fields: self._bounded(client).search(config.index, _body(fields)),
            keyword_fields=lambda fields: self._aggregatable_fields(client, fields),
            query=lambda span: build_query(config, span),
            time_range=lambda span: time_range(config, span),
            time_field=config.time_field,
            hits=lambda query: self._hits(client, query),
            deadline=self.deadline,
        )
        settings: Any = config.analysis
        runs: dict[AnalysisMode, Callable[[AnalysisJob, Any, TimeWindow], SourceResult]] = {
            AnalysisMode.METRIC: metric_result,
            AnalysisMode.PERCENTAGE: percentage_result,
            AnalysisMode.SPIKE: spike_result,
            AnalysisMode.NEW_TERMS: new_terms_result,
            AnalysisMode.CHANGE: change_result,
        }
        return runs[AnalysisMode(config.mode)](job, settings, window)

    def _terms_query(self, window: TimeWindow) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The terms query and, with ``expect_groups``, the sub-aggregation that counts.

        With it, groups come from the longer expected span and each bucket's count is
        the documents of ``window`` only (a ``filter`` sub-aggregation): a group with
        none there is a bucket with count 0.
        """
        expect = self.config.expect_groups_seconds
        if expect is None:
            return build_query(self.config, window), None
        in_window = {"filter": time_range(self.config, window)}
        return build_query(self.config, expected_since(window, expect)), {"now": in_window}

    def _terms(
        self, client: ClusterClient, query: dict[str, Any], counting: dict[str, Any] | None
    ) -> SourceResult:
        fields = self._aggregatable_fields(client, self.config.group_by)
        counting = self._with_latest(counting)
        if len(fields) == 1:
            buckets, truncated = self._single_terms(client, query, fields[0], counting)
        else:
            buckets, truncated = self._composite_terms(client, query, fields, counting)
        buckets.sort(key=bucket_order)
        if len(buckets) > self.config.max_buckets:
            buckets, truncated = buckets[: self.config.max_buckets], True
        return SourceResult(ResultKind.BUCKETS, buckets=buckets, truncated=truncated)

    def _aggregatable_fields(self, client: ClusterClient, names: Sequence[str]) -> list[str]:
        """Each field named, or its ``.keyword`` sub-field when the field itself is text.

        Mappings rarely change, so the answer is kept for a few minutes per cluster,
        index pattern and fields (one request fewer per run).
        """
        known = self._known_aggregatable(names)
        if known is not None:
            return known
        wanted = list(names)
        key = (self.config.cluster, self.config.index, tuple(wanted))
        probe = wanted + [f"{f}.keyword" for f in wanted]
        caps = self._bounded(client).field_caps(self.config.index, probe)["fields"]

        def aggregatable(name: str) -> bool:
            return any(kind.get("aggregatable") for kind in caps.get(name, {}).values())

        fields = [
            f"{f}.keyword" if not aggregatable(f) and aggregatable(f"{f}.keyword") else f
            for f in wanted
        ]
        _FIELD_CACHE[key] = (time.monotonic() + FIELD_CACHE_SECONDS, fields)
        return fields

    def _known_aggregatable(self, names: Sequence[str]) -> list[str] | None:
        """The fields to aggregate on, when known without asking (keyword names, or kept)."""
        wanted = list(names)
        if all(f.endswith(".keyword") for f in wanted):
            return wanted
        cached = _FIELD_CACHE.get((self.config.cluster, self.config.index, tuple(wanted)))
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def _with_latest(self, counting: dict[str, Any] | None) -> dict[str, Any] | None:
        """The per-group sub-aggregations, with the latest document's when asked for."""
        if not self.config.latest_document:
            return counting
        latest = {"size": 1, "sort": [{self.config.time_field: {"order": "desc"}}]}
        return {**(counting or {}), "latest": {"top_hits": latest}}

    def _single_terms_body(
        self, query: dict[str, Any], field: str, counting: dict[str, Any] | None
    ) -> dict[str, Any]:
        terms = {
            "field": field,
            "size": self.config.max_buckets,
            "min_doc_count": self.config.min_doc_count,
            "order": [{"_count": "desc"}, {"_key": "asc"}],
        }
        groups: dict[str, Any] = {"terms": terms, **({"aggs": counting} if counting else {})}
        return {"query": query, "size": 0, "aggs": {"groups": groups}}

    def _single_terms(
        self,
        client: ClusterClient,
        query: dict[str, Any],
        field: str,
        counting: dict[str, Any] | None,
    ) -> tuple[list[Bucket], bool]:
        name = plain_name(self.config.group_by[0])  # templates and keys see plain names
        response = self._search(client, self._single_terms_body(query, field, counting))
        agg = response["aggregations"]["groups"]
        buckets = [Bucket({name: _key(b)}, _count(b), _latest(b)) for b in agg["buckets"]]
        return buckets, int(agg.get("sum_other_doc_count", 0)) > 0

    def _composite_terms(
        self,
        client: ClusterClient,
        query: dict[str, Any],
        fields: list[str],
        counting: dict[str, Any] | None,
    ) -> tuple[list[Bucket], bool]:
        # Composite pages through every combination (ordered by key, not by count), so
        # the threshold is applied here and the pages are bounded.
        names = [plain_name(g) for g in self.config.group_by]
        sources = [{n: {"terms": {"field": f}}} for n, f in zip(names, fields, strict=True)]
        composite: dict[str, Any] = {"sources": sources, "size": COMPOSITE_PAGE}
        buckets: list[Bucket] = []
        scanned = 0
        while True:
            groups = {"composite": composite, **({"aggs": counting} if counting else {})}
            body = {"query": query, "size": 0, "aggs": {"groups": groups}}
            response = self._bounded(client).search(self.config.index, body)
            agg = response["aggregations"]["groups"]
            for raw in agg["buckets"]:
                if raw["doc_count"] >= self.config.min_doc_count:
                    buckets.append(Bucket(dict(raw["key"]), _count(raw), _latest(raw)))
            scanned += len(agg["buckets"])
            after = agg.get("after_key")
            if not after or len(agg["buckets"]) < COMPOSITE_PAGE:
                return buckets, False
            if scanned >= MAX_SCANNED_BUCKETS:
                return buckets, True
            composite["after"] = after

    def _error(self, exc: ClusterRequestError) -> SourceError:
        where = self._where()
        prefix = f"search {self.context.search_name!r}: " if self.context.search_name else ""
        if exc.answered and not _from_a_cluster(exc.body):
            return SourceError(prefix + self._not_a_cluster(exc), permanent=True, field="cluster")
        if exc.answered and _error_type(exc.body) == "index_not_found_exception":
            message = prefix + self._no_index_message()
            return SourceError(message, permanent=True, field="index")
        if exc.answered:
            reason = error_reason(exc.body) or exc.message
            verb = "failed" if exc.transient else "rejected the query"
            return SourceError(f"{prefix}{where} {verb}: {reason}", permanent=not exc.transient)
        return SourceError(f"{prefix}{where} unreachable: {exc.message}", permanent=False)

    def _not_a_cluster(self, exc: ClusterRequestError) -> str:
        """What answered instead of Elasticsearch/OpenSearch, and at which URL."""
        cluster = find_cluster(self.context.settings, self.config.cluster)
        raw = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, default=str)
        body = " ".join((raw or "").split())[:120]
        suffix = "" if self.config.cluster == "default" else "_" + self.config.cluster.upper()
        return (
            f"the server at {_without_credentials(cluster.url)} (cluster "
            f"{self.config.cluster!r}) is not Elasticsearch or OpenSearch: it answered "
            f"HTTP {exc.status} {body!r} ({exc.message}); check ELASTICSEARCH{suffix}_URL"
        )


def _from_a_cluster(body: Any) -> bool:
    """Elasticsearch and OpenSearch answer errors with an ``error`` object; others do not."""
    return isinstance(body, Mapping) and "error" in body


def _error_type(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, Mapping) else None
    return str(error.get("type")) if isinstance(error, Mapping) else None


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


def time_range(config: ElasticsearchConfig, window: TimeWindow) -> dict[str, Any]:
    """[start, end) on the time field (milliseconds)."""
    return {
        "range": {
            config.time_field: {
                "gte": iso_millis(window.start),
                "lt": iso_millis(window.end),
                "format": "strict_date_optional_time",
            }
        }
    }


def build_query(config: ElasticsearchConfig, window: TimeWindow) -> dict[str, Any]:
    """The user's query, filtered to [start, end) on the time field (milliseconds)."""
    if config.query_dsl is not None:
        user_query = config.query_dsl
    elif config.query and config.query.strip() != "*":
        user_query = {"query_string": {"query": config.query}}
    else:
        user_query = {"match_all": {}}
    return {"bool": {"filter": [time_range(config, window), user_query]}}


def discover_link(
    kibana_url: str, config: ElasticsearchConfig, window: TimeWindow, keys: Mapping[str, Any]
) -> str:
    """Discover on the search's index and query, narrowed to ``keys``, over ``window``."""
    spec = DiscoverQuery(kibana_url, config.index, window, config.query, config.query_dsl, keys)
    return discover_url(spec)


def _count_body(query: dict[str, Any]) -> dict[str, Any]:
    """A count as a search (the _count API cannot travel in a _msearch)."""
    return {"query": query, "size": 0, "track_total_hits": True}


def _body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A request body from keyword fields, leaving out those given as None."""
    return {name: value for name, value in fields.items() if value is not None}


def _count(bucket: Mapping[str, Any]) -> int:
    """A bucket's count: its documents in the window (``now``, with expect_groups) or all."""
    counted = bucket.get("now", bucket)
    return int(counted["doc_count"])


def _latest(bucket: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of the group's latest document (``latest_document``), else none."""
    hits = bucket.get("latest", {}).get("hits", {}).get("hits") or []
    return dict(hits[0].get("_source") or {}) if hits else {}


def _key(raw: Mapping[str, Any]) -> Any:
    # Terms buckets on keyword fields carry the value in "key"; on dates "key_as_string".
    return raw.get("key_as_string", raw["key"]) if "key_as_string" in raw else raw["key"]


__all__ = [
    "ElasticsearchConfig",
    "ElasticsearchSource",
    "build_query",
    "error_reason",
    "es_client",
    "parse_es_config",
]
