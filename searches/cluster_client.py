"""One cluster's requests, whichever product answers them.

The Elasticsearch source builds its request bodies once (``searches.elasticsearch``)
and hands them to a :class:`ClusterClient`; only the object underneath differs: the
``elasticsearch`` client for Elasticsearch, ``opensearch-py`` for OpenSearch. Both
clients' errors become one :class:`ClusterRequestError`, so a rejected query or an
unreachable cluster reads the same whichever product it is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import elastic_transport
import elasticsearch
import opensearchpy

from searches.cluster_product import Product, version_from_nodes

T = TypeVar("T")

# The nodes API tells the version on every distribution (the integ-test zip of
# Elasticsearch has no `GET /`); filter_path keeps the answer small.
_VERSION_PATH = "nodes.*.version"


class ClusterRequestError(Exception):
    """A request the cluster refused (``status`` and its error ``body``) or never answered.

    ``status`` is None when no answer came (refused connection, TLS failure, timeout).
    """

    def __init__(self, message: str, *, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def transient(self) -> bool:
        """Worth retrying later: no answer, a timeout, overload or a server error."""
        return self.status is None or self.status in (408, 429) or self.status >= 500


# One search's answer in a multi-search: its response, or the error it alone met.
Answer = Mapping[str, Any] | ClusterRequestError
Searches = Sequence[tuple[str, Mapping[str, Any]]]  # (index pattern, body) each


def _msearch_lines(searches: Searches) -> list[Mapping[str, Any]]:
    """The _msearch body: a header naming the index, then the search's body, for each."""
    lines: list[Mapping[str, Any]] = []
    for index, body in searches:
        lines += [{"index": index}, body]
    return lines


def _answers(responses: Sequence[Mapping[str, Any]]) -> list[Answer]:
    """Each item of a _msearch answer: a search's response, or its own error (as raised alone)."""
    answers: list[Answer] = []
    for item in responses:
        if "error" not in item:
            answers.append(item)
            continue
        error, status = item["error"], item.get("status")
        reason = error.get("type") if isinstance(error, Mapping) else error
        code = status if isinstance(status, int) else 500
        answers.append(ClusterRequestError(str(reason), status=code, body=item))
    return answers


class ClusterClient(ABC):
    """The few requests the Elasticsearch source makes, with a per-request timeout."""

    product: ClassVar[Product]

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    @abstractmethod
    def search(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    @abstractmethod
    def count(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]: ...

    @abstractmethod
    def msearch(self, searches: Searches) -> list[Answer]:
        """Many searches in one request (``_msearch``): each one's answer, in order.

        Raises ClusterRequestError only when the request as a whole failed.
        """

    @abstractmethod
    def field_caps(self, index: str, fields: Sequence[str]) -> Mapping[str, Any]: ...

    @abstractmethod
    def version(self) -> str | None:
        """The version the cluster's node reports (what ``411 config check`` prints)."""

    @abstractmethod
    def with_timeout(self, seconds: float) -> ClusterClient:
        """The same connections, with another request timeout (cheap: no new pool)."""


class ElasticsearchClient(ClusterClient):
    product = Product.ELASTICSEARCH

    def __init__(self, raw: elasticsearch.Elasticsearch, timeout: float) -> None:
        super().__init__(timeout)
        self.raw = raw

    def search(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._call(lambda: self.raw.search(index=index, body=dict(body)).body)

    def count(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._call(lambda: self.raw.count(index=index, body=dict(body)).body)

    def msearch(self, searches: Searches) -> list[Answer]:
        lines = _msearch_lines(searches)
        response = self._call(lambda: self.raw.msearch(searches=lines).body)
        return _answers(response["responses"])

    def field_caps(self, index: str, fields: Sequence[str]) -> Mapping[str, Any]:
        return self._call(lambda: self.raw.field_caps(index=index, fields=list(fields)).body)

    def version(self) -> str | None:
        nodes = self._call(lambda: self.raw.nodes.info(node_id="_local", filter_path=_VERSION_PATH))
        return version_from_nodes(nodes.body)

    def with_timeout(self, seconds: float) -> ElasticsearchClient:
        return ElasticsearchClient(self.raw.options(request_timeout=seconds), seconds)

    @staticmethod
    def _call(request: Callable[[], T]) -> T:
        try:
            return request()
        except elasticsearch.ApiError as exc:
            raise ClusterRequestError(
                _elasticsearch_reason(exc), status=exc.meta.status, body=exc.body
            ) from None
        except elastic_transport.TransportError as exc:
            raise ClusterRequestError(str(exc)) from None


def _elasticsearch_reason(exc: elasticsearch.ApiError) -> str:
    if isinstance(exc, elasticsearch.UnsupportedProductError):
        return "the server is not Elasticsearch (is it OpenSearch? then say so in _PRODUCT)"
    message = str(exc.message)
    if "compatible-with" in message:  # OpenSearch refusing the Elasticsearch client
        message += " (is the cluster OpenSearch? then say so in _PRODUCT)"
    return message


class OpenSearchClient(ClusterClient):
    product = Product.OPENSEARCH

    def __init__(self, raw: opensearchpy.OpenSearch, timeout: float) -> None:
        super().__init__(timeout)
        self.raw = raw

    def search(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._call(lambda: self.raw.search(index=index, body=dict(body), **self._timeout()))

    def count(self, index: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._call(lambda: self.raw.count(index=index, body=dict(body), **self._timeout()))

    def msearch(self, searches: Searches) -> list[Answer]:
        lines = _msearch_lines(searches)
        response = self._call(lambda: self.raw.msearch(body=lines, **self._timeout()))
        return _answers(response["responses"])

    def field_caps(self, index: str, fields: Sequence[str]) -> Mapping[str, Any]:
        joined = ",".join(fields)
        return self._call(
            lambda: self.raw.field_caps(index=index, fields=joined, **self._timeout())
        )

    def version(self) -> str | None:
        nodes = self._call(
            lambda: self.raw.nodes.info(
                node_id="_local", filter_path=_VERSION_PATH, **self._timeout()
            )
        )
        return version_from_nodes(nodes)

    def with_timeout(self, seconds: float) -> OpenSearchClient:
        return OpenSearchClient(self.raw, seconds)  # opensearch-py takes it per request

    def _timeout(self) -> dict[str, float]:
        return {"request_timeout": self.timeout}

    @staticmethod
    def _call(request: Callable[[], T]) -> T:
        try:
            return request()
        except opensearchpy.ConnectionTimeout as exc:
            raise ClusterRequestError(f"timed out: {exc.info}") from None
        except opensearchpy.ConnectionError as exc:  # refused, TLS failures: no answer
            raise ClusterRequestError(str(exc.error)) from None
        except opensearchpy.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else None
            raise ClusterRequestError(str(exc.error), status=status, body=exc.info) from None
