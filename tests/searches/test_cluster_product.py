"""Which product a cluster is: configured, or told by the cluster once; `411 config check`.

Against the three real servers (Elasticsearch 9.x and 8.x, OpenSearch 3.x) and, for
answers no real server gives, small local HTTP servers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.config import ClusterConfig, Settings, load_settings
from bot.errors import ConfigurationError
from searches.base import SourceContext, SourceError
from searches.cluster_client import ClusterRequestError, OpenSearchClient
from searches.cluster_product import Product
from searches.elasticsearch import ElasticsearchSource
from searches.es_client import cluster_client, cluster_info, cluster_product, known_product
from tests.foundation.test_cli_safety import closed_port, run_411
from tests.search_servers import SearchServer
from tests.searches.conftest import INSIDE, WINDOW


def count_on(cluster: ClusterConfig, index: str) -> int | None:
    settings = Settings(clusters={cluster.name: cluster})
    raw = {"index": index, "cluster": cluster.name, "mode": "count", "timeout_seconds": 5}
    source = ElasticsearchSource(
        ElasticsearchSource.parse_config(raw), SourceContext(settings=settings)
    )
    return source.run(WINDOW).count


# ------------------------------------------------------------ real servers


def test_each_real_server_is_told_apart_and_its_version_read(
    search_server: SearchServer, es8_url: str
) -> None:
    info = cluster_info(search_server.cluster())
    assert (info.product, info.version) == (search_server.product, search_server.version)
    old = cluster_info(ClusterConfig(name="old", url=es8_url))  # no `GET /` there: a 405
    assert (old.product, old.version) == (Product.ELASTICSEARCH, "8.19.21")


def test_the_product_is_asked_once_and_the_answer_kept(search_server: SearchServer) -> None:
    cluster = search_server.cluster("kept")  # a cluster config no other test uses
    assert known_product(cluster) is None
    assert cluster_product(cluster) is search_server.product
    assert known_product(cluster) is search_server.product
    client = cluster_client(cluster, 30)
    assert client.product is search_server.product
    assert cluster_client(cluster, 30) is client  # shared, not rebuilt per run


def test_a_configured_product_is_used_without_asking(
    search_server: SearchServer, loaded_index: str
) -> None:
    cluster = search_server.cluster("told", product=search_server.product)
    assert count_on(cluster, loaded_index) == len(INSIDE)


def test_an_opensearch_cluster_configured_as_elasticsearch_says_what_to_change(
    opensearch_url: str,
) -> None:
    cluster = ClusterConfig(name="wrong", url=opensearch_url, product=Product.ELASTICSEARCH)
    with pytest.raises(SourceError) as raised:
        count_on(cluster, "logs-*")
    message = str(raised.value)
    assert raised.value.permanent
    assert "Elasticsearch cluster 'wrong' rejected the query" in message
    assert "is the cluster OpenSearch? then say so in _PRODUCT" in message


def test_config_check_prints_each_clusters_product_and_version(
    es_url: str, es8_url: str, opensearch_url: str, tmp_path: Any
) -> None:
    env = {
        "ELASTICSEARCH_URL": es_url,
        "ELASTICSEARCH_OLD_URL": es8_url,
        "ELASTICSEARCH_LOGS_URL": opensearch_url,
        "ELASTICSEARCH_LOGS_PRODUCT": "opensearch",
    }
    good = run_411("config", "check", env=env, cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    assert "cluster default: Elasticsearch 9.5.4" in lines
    assert "cluster old: Elasticsearch 8.19.21" in lines
    assert "cluster logs: OpenSearch 3.6.0" in lines
    assert any(line.startswith("ELASTICSEARCH[logs]") and "opensearch)" in line for line in lines)

    down = f"http://127.0.0.1:{closed_port()}"
    bad_env = {**env, "ELASTICSEARCH_DOWN_URL": down, "ELASTICSEARCH_OLD_PRODUCT": "opensearch"}
    bad = run_411("config", "check", env=bad_env, cwd=tmp_path)
    assert bad.returncode == 1
    assert f"cluster down: UNREACHABLE ({down}): " in bad.stdout
    assert "Connection refused" in bad.stdout
    assert (
        "cluster old: configured as opensearch but answers as Elasticsearch 8.19.21" in bad.stdout
    )
    assert "cluster logs: OpenSearch 3.6.0" in bad.stdout  # the others are still checked
    assert "Traceback" not in bad.stderr


# ------------------------------------------------------------ configuration


def test_the_product_is_read_per_cluster_and_checked() -> None:
    settings = load_settings(
        {
            "ELASTICSEARCH_URL": "http://a:9200",
            "ELASTICSEARCH_LOGS_URL": "http://b:9200",
            "ELASTICSEARCH_LOGS_PRODUCT": "OpenSearch",
            "ELASTICSEARCH_OLD_URL": "http://c:9200",
            "ELASTICSEARCH_OLD_PRODUCT": "auto",
        }
    )
    products = {name: cluster.product for name, cluster in settings.clusters.items()}
    assert products == {"default": None, "logs": Product.OPENSEARCH, "old": None}
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"ELASTICSEARCH_URL": "http://a:9200", "ELASTICSEARCH_PRODUCT": "solr"})
    assert str(raised.value) == (
        "ELASTICSEARCH_PRODUCT must be one of elasticsearch, opensearch or auto, not 'solr'"
    )


def test_an_api_key_for_an_opensearch_cluster_is_refused_naming_what_to_use() -> None:
    cluster = ClusterConfig(
        name="os", url="http://127.0.0.1:9", api_key="k", product=Product.OPENSEARCH
    )
    with pytest.raises(SourceError) as raised:
        count_on(cluster, "logs-*")
    assert raised.value.permanent
    assert "API keys are an Elasticsearch feature; give a user name and password" in str(
        raised.value
    )


# ------------------------------------------------- answers no real server gives


class Fake:
    """A local HTTP server answering every request with one fixed reply, counting them."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append(f"{self.command} {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def neither() -> Iterator[Fake]:
    fake = Fake(200, {"name": "some proxy", "tagline": "not a search server"}, {})
    yield fake
    fake.close()


@pytest.fixture
def opensearch_like() -> Iterator[Fake]:
    # What OpenSearch answers to `GET /` (and, for a count, a plausible body).
    root = {"version": {"distribution": "opensearch", "number": "3.6.0"}, "count": 7}
    fake = Fake(200, root, {"X-OpenSearch-Version": "OpenSearch/3.6.0 (opensearch)"})
    yield fake
    fake.close()


def test_a_server_that_is_neither_product_fails_permanently_naming_the_setting(
    neither: Fake,
) -> None:
    with pytest.raises(SourceError) as raised:
        count_on(ClusterConfig(name="odd", url=neither.url), "logs-*")
    assert raised.value.permanent
    assert "without Elasticsearch's product header or OpenSearch's version.distribution" in str(
        raised.value
    )
    assert "set the cluster's _PRODUCT variable" in str(raised.value)
    assert neither.requests == ["GET /"]  # nothing else was sent to it


def test_detection_asks_once_per_process_then_only_searches(opensearch_like: Fake) -> None:
    cluster = ClusterConfig(name="osl", url=opensearch_like.url)
    assert count_on(cluster, "logs-*") == 7
    assert count_on(cluster, "logs-*") == 7
    assert opensearch_like.requests == ["GET /", "POST /logs-*/_count", "POST /logs-*/_count"]
    assert isinstance(cluster_client(cluster, 5), OpenSearchClient)


def test_an_unreachable_cluster_is_not_remembered_as_any_product() -> None:
    cluster = ClusterConfig(name="gone", url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ClusterRequestError) as raised:
        cluster_product(cluster, timeout=2)
    assert not raised.value.answered and raised.value.transient
    assert known_product(cluster) is None  # asked again next time
