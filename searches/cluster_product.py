"""Which search product a cluster is: Elasticsearch or OpenSearch, and how to tell.

Both speak the same query language (OpenSearch is a fork of Elasticsearch 7.10), but
each refuses the other's Python client: the Elasticsearch client checks every answer
for Elasticsearch's product header, and OpenSearch refuses the media type the 8.x
Elasticsearch client sends. So a cluster's product picks the client, nothing else.

A cluster's configuration may name its product; otherwise it is told from one
``GET /`` (see :func:`product_from_root`) and remembered for the process.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Product(enum.StrEnum):
    ELASTICSEARCH = "elasticsearch"
    OPENSEARCH = "opensearch"

    @property
    def display_name(self) -> str:
        return "OpenSearch" if self is Product.OPENSEARCH else "Elasticsearch"


def parse_product(raw: str) -> Product | None:
    """The product a configuration value names ("" or "auto": detect it), or ValueError."""
    value = raw.strip().lower()
    if value in ("", "auto"):
        return None
    try:
        return Product(value)
    except ValueError:
        known = ", ".join(p.value for p in Product)
        raise ValueError(f"must be one of {known} or auto, not {raw!r}") from None


@dataclass(frozen=True)
class ClusterInfo:
    """What ``411 config check`` prints about a reachable cluster."""

    product: Product
    version: str | None  # None when the cluster would not tell (a missing privilege, say)


class UnknownProduct(Exception):
    """The server answered, but neither as Elasticsearch nor as OpenSearch."""


def product_from_root(status: int, headers: Mapping[str, str], body: Any) -> Product:
    """The product behind an answer to ``GET /``, whatever its status.

    Elasticsearch (7.14 and later) sends ``X-Elastic-Product: Elasticsearch`` on every
    answer, including the 405 of distributions without ``GET /`` (the integ-test
    zip): the header decides, never the body. OpenSearch answers ``GET /`` with
    ``version.distribution = "opensearch"`` (and sends ``X-OpenSearch-Version``).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("x-elastic-product") == "Elasticsearch":
        return Product.ELASTICSEARCH
    version = body.get("version") if isinstance(body, Mapping) else None
    if isinstance(version, Mapping) and version.get("distribution") == "opensearch":
        return Product.OPENSEARCH
    if lowered.get("x-opensearch-version", "").startswith("OpenSearch/"):
        return Product.OPENSEARCH
    raise UnknownProduct(
        f"GET / answered HTTP {status} without Elasticsearch's product header or "
        "OpenSearch's version.distribution; set the cluster's _PRODUCT variable"
    )


def version_from_nodes(body: Any) -> str | None:
    """The version(s) of a ``GET /_nodes/_local`` answer (the integ-test zip has no ``GET /``)."""
    nodes = body.get("nodes") if isinstance(body, Mapping) else None
    if not isinstance(nodes, Mapping):
        return None
    versions = sorted({str(n["version"]) for n in nodes.values() if n.get("version")})
    return ", ".join(versions) or None
