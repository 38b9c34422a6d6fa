"""Elasticsearch clients per named cluster, and readable reasons from its error bodies.

Clients are built from ``bot.config.ClusterConfig`` (API key, basic auth, CA file,
verify flag) and shared per cluster for the whole process, so runs reuse pooled
connections instead of paying a TCP/TLS handshake each time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from searches.base import SourceError

DEFAULT_TIMEOUT = 30.0


def es_client(cluster: Any, *, request_timeout: float = DEFAULT_TIMEOUT) -> Elasticsearch:
    """A client for one ``bot.config.ClusterConfig`` (API key, basic auth, CA file, verify)."""
    options: dict[str, Any] = {"request_timeout": request_timeout}
    if cluster.api_key:
        options["api_key"] = cluster.api_key
    elif cluster.username:
        options["basic_auth"] = (cluster.username, cluster.password or "")
    if cluster.ca_file:
        if not Path(cluster.ca_file).is_file():
            raise SourceError(
                f"Elasticsearch cluster {cluster.name!r}: CA file {cluster.ca_file} not found",
                permanent=True,
            )
        options["ca_certs"] = cluster.ca_file
    if not cluster.verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return Elasticsearch(cluster.url, **options)


@functools.lru_cache(maxsize=32)
def _shared_client(cluster: Any) -> Elasticsearch:
    # One client (and connection pool) per cluster for the whole process: building a
    # client per run would cost a TCP (and TLS) handshake every time.
    return es_client(cluster)


@functools.lru_cache(maxsize=128)
def client_with_timeout(cluster: Any, timeout: float) -> Elasticsearch:
    # options() builds a new client object (cheap transport sharing, but ~0.3 ms of
    # namespace set-up): done once per cluster and timeout, not once per run.
    return _shared_client(cluster).options(request_timeout=timeout)


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
