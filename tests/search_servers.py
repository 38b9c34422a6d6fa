"""The real search servers the Elasticsearch source's tests run against, one per product.

The suite's ``search_server`` fixture (tests/conftest.py) is each of them in turn:
Elasticsearch 9.x and OpenSearch 3.x. Tests load documents through the product's own
Python client (the ``elasticsearch`` client is refused by OpenSearch, and the other
way round), and point the source at the server through a ``ClusterConfig`` that does
not name the product, so the source tells it itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import elasticsearch.helpers
import opensearchpy.helpers
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

from bot.config import ClusterConfig
from searches.cluster_product import Product


@dataclass(frozen=True)
class SearchServer:
    product: Product
    version: str
    url: str
    client: Elasticsearch | OpenSearch

    def __str__(self) -> str:
        return f"{self.product.display_name} {self.version}"

    def cluster(self, name: str = "default", **options: Any) -> ClusterConfig:
        """A cluster config for this server; the product is left to detection unless given."""
        return ClusterConfig(name=name, url=self.url, **options)

    def create_index(self, name: str, mappings: Mapping[str, Any]) -> None:
        self.client.indices.create(index=name, body={"mappings": dict(mappings)})

    def bulk(self, actions: Iterable[Mapping[str, Any]]) -> tuple[int, Any]:
        """Indexes the documents and waits until a search sees them."""
        opensearch = self.product is Product.OPENSEARCH
        helpers: Any = opensearchpy.helpers if opensearch else elasticsearch.helpers
        indexed, errors = helpers.bulk(self.client, list(actions), refresh="wait_for")
        return indexed, errors

    def index_documents(self, index: str, documents: Iterable[Mapping[str, Any]]) -> None:
        """Each document under its ``id`` field (dynamic mapping, as users' logs get)."""
        self.bulk({"_index": index, "_id": d["id"], "_source": dict(d)} for d in documents)

    def delete_indices(self, pattern: str) -> None:
        """Every index matching the pattern (deleting by wildcard is refused by default)."""
        found = self.client.indices.get(
            index=pattern, expand_wildcards="all", ignore_unavailable=True
        )
        names = list(found.body if isinstance(self.client, Elasticsearch) else found)
        if names:
            self.client.indices.delete(index=",".join(names))

    def node_versions(self) -> set[str]:
        # `GET /` is absent on the Elasticsearch test servers; the nodes API has the version.
        nodes = self.client.nodes.info(metric="jvm")["nodes"]
        return {node["version"] for node in nodes.values()}


def answer_as(
    handler: BaseHTTPRequestHandler, product: Product, status: int, kind: str, body: bytes
) -> None:
    """Send ``body`` as ``product`` would (the header its client checks), for fake or proxy servers."""
    handler.send_response(status)
    if product is Product.OPENSEARCH:
        handler.send_header("X-OpenSearch-Version", "OpenSearch/3.6.0 (opensearch)")
    else:
        handler.send_header("X-Elastic-Product", "Elasticsearch")
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
