"""Clients per named cluster, Elasticsearch or OpenSearch, and readable reasons from error bodies.

Clients are built from ``bot.config.ClusterConfig`` (API key, basic auth, CA file,
verify flag, product) and shared per cluster for the whole process, so runs reuse
pooled connections instead of paying a TCP/TLS handshake each time. A cluster whose
configuration does not name its product is asked once (``GET /``, see
``searches.cluster_product``) and the answer is kept for the process.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import elastic_transport
from elasticsearch import ApiError, Elasticsearch
from opensearchpy import OpenSearch

from searches.base import SourceError
from searches.cluster_client import (
    ClusterClient,
    ClusterRequestError,
    ElasticsearchClient,
    OpenSearchClient,
)
from searches.cluster_product import ClusterInfo, Product, UnknownProduct, product_from_root

DEFAULT_TIMEOUT = 30.0
CHECK_TIMEOUT = 10.0  # `411 config check` waits no longer for a cluster

_DETECTED: dict[Any, Product] = {}  # cluster config -> the product it answered as


def es_client(cluster: Any, *, request_timeout: float = DEFAULT_TIMEOUT) -> Elasticsearch:
    """An Elasticsearch client for one ``bot.config.ClusterConfig`` (API key, basic auth, CA file, verify)."""
    options: dict[str, Any] = {"request_timeout": request_timeout}
    if cluster.api_key:
        options["api_key"] = cluster.api_key
    elif cluster.username:
        options["basic_auth"] = (cluster.username, cluster.password or "")
    if cluster.ca_file:
        options["ca_certs"] = _ca_file(cluster)
    if not cluster.verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return Elasticsearch(cluster.url, **options)


def opensearch_client(cluster: Any, *, request_timeout: float = DEFAULT_TIMEOUT) -> OpenSearch:
    """An OpenSearch client for one ``bot.config.ClusterConfig`` (basic auth, CA file, verify)."""
    if cluster.api_key:
        raise SourceError(
            f"OpenSearch cluster {cluster.name!r}: API keys are an Elasticsearch feature; "
            "give a user name and password instead",
            permanent=True,
        )
    options: dict[str, Any] = {"timeout": request_timeout}
    if cluster.username:
        options["http_auth"] = (cluster.username, cluster.password or "")
    if cluster.ca_file:
        options["ca_certs"] = _ca_file(cluster)
    if not cluster.verify_certs:
        options.update(verify_certs=False, ssl_assert_hostname=False, ssl_show_warn=False)
    return OpenSearch(cluster.url, **options)


def _ca_file(cluster: Any) -> str:
    if not Path(cluster.ca_file).is_file():
        raise SourceError(
            f"cluster {cluster.name!r}: CA file {cluster.ca_file} not found", permanent=True
        )
    return str(cluster.ca_file)


@functools.lru_cache(maxsize=32)
def _shared_client(cluster: Any, product: Product) -> ClusterClient:
    # One client (and connection pool) per cluster for the whole process: building a
    # client per run would cost a TCP (and TLS) handshake every time.
    if product is Product.OPENSEARCH:
        return OpenSearchClient(opensearch_client(cluster), DEFAULT_TIMEOUT)
    return ElasticsearchClient(es_client(cluster), DEFAULT_TIMEOUT)


@functools.lru_cache(maxsize=128)
def _client_with_timeout(cluster: Any, product: Product, timeout: float) -> ClusterClient:
    # The Elasticsearch client's options() builds a new client object (cheap transport
    # sharing, but ~0.3 ms of namespace set-up): done once per cluster and timeout.
    return _shared_client(cluster, product).with_timeout(timeout)


def cluster_client(
    cluster: Any, timeout: float, *, detect_timeout: float | None = None
) -> ClusterClient:
    """The shared client of a cluster with this request timeout, for the cluster's product.

    ``detect_timeout`` bounds the one ``GET /`` that tells an unconfigured product
    (a run passes the time it has left). Raises ClusterRequestError when that fails.
    """
    product = cluster_product(cluster, timeout if detect_timeout is None else detect_timeout)
    return _client_with_timeout(cluster, product, timeout)


def cluster_product(cluster: Any, timeout: float = DEFAULT_TIMEOUT) -> Product:
    """The configured product, else the one detected (once per process and cluster)."""
    if cluster.product is not None:
        return Product(cluster.product)
    known = _DETECTED.get(cluster)
    if known is None:
        # Two runs detecting at once both ask and get the same answer: no lock needed.
        known = _DETECTED[cluster] = detect_product(cluster, timeout)
    return known


def known_product(cluster: Any) -> Product | None:
    """The configured product or the one detected so far; None before it is known (never asks)."""
    return Product(cluster.product) if cluster.product is not None else _DETECTED.get(cluster)


def detect_product(cluster: Any, timeout: float) -> Product:
    """Asks the cluster which product it is (``GET /``), whatever its configuration says."""
    client = _shared_client(cluster, Product.ELASTICSEARCH)
    assert isinstance(client, ElasticsearchClient)
    try:
        # The Elasticsearch client carries the cluster's credentials; its product check
        # fails on OpenSearch's 200, and that error still holds the answer.
        response = client.raw.options(request_timeout=timeout).perform_request(
            "GET", "/", headers={"accept": "application/json"}
        )
        status, headers, body = response.meta.status, response.meta.headers, response.body
    except ApiError as exc:
        status, headers, body = exc.meta.status, exc.meta.headers, exc.body
    except elastic_transport.TransportError as exc:
        raise ClusterRequestError(str(exc)) from None
    try:
        return product_from_root(status, headers, body)
    except UnknownProduct as exc:
        if status in (401, 403):  # OpenSearch's security plugin says no more than that
            message = f"refused the credentials (HTTP {status} to GET /)"
            raise ClusterRequestError(message, status=status) from None
        raise ClusterRequestError(str(exc), status=status, body=body) from None


def cluster_info(cluster: Any, timeout: float = CHECK_TIMEOUT) -> ClusterInfo:
    """The product the cluster answers as and its version (for ``411 config check``).

    Raises ClusterRequestError when the cluster cannot be reached.
    """
    try:
        product = detect_product(cluster, timeout)
    except ClusterRequestError as exc:
        if cluster.product is None or not exc.answered:
            raise
        product = Product(cluster.product)  # GET / refused (a proxy, a privilege)
    try:
        version = _shared_client(cluster, product).with_timeout(timeout).version()
    except ClusterRequestError as exc:
        if not exc.answered:
            raise
        version = None  # reachable, but the nodes API is not allowed to this user
    return ClusterInfo(product, version)


def find_cluster(settings: Any, name: str) -> Any:
    clusters: Mapping[str, Any] = getattr(settings, "clusters", None) or {}
    if name not in clusters:
        known = ", ".join(clusters) or "none; set ELASTICSEARCH_URL"
        raise SourceError(
            f"unknown Elasticsearch cluster {name!r} (known: {known})", permanent=True
        )
    return clusters[name]


def error_reason(body: Any) -> str | None:
    """The useful part of an Elasticsearch error body: root cause, then what caused it."""
    if not isinstance(body, Mapping) or not isinstance(body.get("error"), Mapping):
        return None
    error = body["error"]
    causes = error.get("root_cause") or [error]
    reason = str(causes[0].get("reason") or error.get("type") or "unknown error")
    detail = _deepest_cause(error)
    if detail and detail not in reason:
        reason = f"{reason}: {detail}"
    return reason


def _deepest_cause(error: Mapping[str, Any]) -> str | None:
    """The first line of the first ``caused_by`` under the first failed shard (or the error)."""
    failed = error.get("failed_shards") or []
    node = failed[0].get("reason", {}) if failed else error
    cause = node.get("caused_by") if isinstance(node, Mapping) else None
    if not isinstance(cause, Mapping) or not cause.get("reason"):
        return None
    return str(cause["reason"]).strip().splitlines()[0]
