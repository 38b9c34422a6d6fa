"""Cluster credentials and TLS, against a local HTTP(S) endpoint that records each request.

The test Elasticsearch runs with security off and the OpenSearch integ-test zip has
no security plugin (both would accept any credentials), so what the clients really
send is checked on a small server that answers ``GET /`` and ``_count`` the way
Elasticsearch, or OpenSearch, does, over plain HTTP and over TLS with a self-signed
CA. Each test runs three ways (``flavour``): an Elasticsearch cluster, an OpenSearch
cluster whose product is detected (the ``elasticsearch`` client asks ``GET /``, then
``opensearch-py`` counts), and one configured as OpenSearch (only ``opensearch-py``).
The real OpenSearch is reached over TLS with basic auth too, behind a local
TLS-terminating proxy that checks the credentials (test_the_real_opensearch_...).
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import ClusterConfig, Settings
from searches.base import SourceContext, SourceError
from searches.cluster_product import Product
from searches.elasticsearch import ElasticsearchSource, es_client
from searches.es_client import opensearch_client
from tests.conftest import unique_name
from tests.search_servers import SearchServer, answer_as
from tests.searches.conftest import INSIDE, WINDOW, sample_documents


@dataclass(frozen=True)
class Flavour:
    """What the recording server answers as, and what the cluster config says."""

    answers_as: Product
    configured: Product | None

    def cluster(self, url: str, **options: Any) -> ClusterConfig:
        return ClusterConfig(name="secure", url=url, product=self.configured, **options)


FLAVOURS = {
    "elasticsearch": Flavour(Product.ELASTICSEARCH, None),
    "opensearch-detected": Flavour(Product.OPENSEARCH, None),
    "opensearch-configured": Flavour(Product.OPENSEARCH, Product.OPENSEARCH),
}


@pytest.fixture(params=list(FLAVOURS))
def flavour(request: pytest.FixtureRequest) -> Flavour:
    return FLAVOURS[request.param]


@dataclass
class Recorder:
    url: str
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def _serve(tls: ssl.SSLContext | None, product: Product) -> Iterator[Recorder]:
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            recorder.headers.append({k.lower(): v for k, v in self.headers.items()})
            recorder.paths.append(f"{self.command} {self.path}")
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer: dict[str, Any] = {"count": 42, "_shards": {"total": 1}}
            if self.path == "/":
                answer = {"version": {"distribution": product.value, "number": "3.6.0"}}
            answer_as(self, product, 200, "application/json", json.dumps(answer).encode())

        do_GET = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def plain_server(flavour: Flavour) -> Iterator[Recorder]:
    yield from _serve(None, flavour.answers_as)


def _tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def tls_server(certificate: tuple[Path, Path], flavour: Flavour) -> Iterator[Recorder]:
    yield from _serve(_tls_context(certificate), flavour.answers_as)


def count_on(cluster: ClusterConfig, index: str = "logs") -> int | None:
    settings = Settings(clusters={"secure": cluster})
    config = ElasticsearchSource.parse_config(
        {"index": index, "cluster": "secure", "mode": "count", "timeout_seconds": 5}
    )
    return ElasticsearchSource(config, SourceContext(settings=settings)).run(WINDOW).count


@pytest.mark.parametrize("flavour", ["elasticsearch"], indirect=True)
def test_it_sends_the_api_key(plain_server: Recorder) -> None:
    cluster = ClusterConfig(name="secure", url=plain_server.url, api_key="a2V5OnNlY3JldA==")
    assert count_on(cluster) == 42
    assert plain_server.headers[-1]["authorization"] == "ApiKey a2V5OnNlY3JldA=="


def _asked(flavour: Flavour) -> list[str]:
    """The requests a count makes: ``GET /`` first when the product is not configured."""
    return (["GET /"] if flavour.configured is None else []) + ["POST /logs/_count"]


def test_it_sends_basic_auth(plain_server: Recorder, flavour: Flavour) -> None:
    cluster = flavour.cluster(plain_server.url, username="ops", password="pw")
    assert count_on(cluster) == 42
    expected = "Basic " + base64.b64encode(b"ops:pw").decode()
    assert plain_server.paths == _asked(flavour)
    assert [h["authorization"] for h in plain_server.headers] == [expected] * len(_asked(flavour))


def test_it_trusts_a_server_signed_by_the_configured_ca(
    tls_server: Recorder, certificate: tuple[Path, Path], flavour: Flavour
) -> None:
    cluster = flavour.cluster(tls_server.url, ca_file=str(certificate[0]))
    assert count_on(cluster) == 42
    assert tls_server.paths == _asked(flavour)


def test_it_refuses_an_unknown_certificate_unless_verification_is_off(
    tls_server: Recorder, flavour: Flavour
) -> None:
    with pytest.raises(SourceError) as raised:
        count_on(flavour.cluster(tls_server.url))
    assert not raised.value.permanent and "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    assert tls_server.paths == []  # refused before any request was made
    unverified = flavour.cluster(tls_server.url, verify_certs=False)
    assert count_on(unverified) == 42
    assert tls_server.paths == _asked(flavour)


def test_a_missing_ca_file_is_a_permanent_error_naming_it(tmp_path: Path) -> None:
    cluster = ClusterConfig(
        name="secure", url="https://127.0.0.1:9", ca_file=str(tmp_path / "ca.pem")
    )
    with pytest.raises(SourceError) as raised:
        es_client(cluster)
    assert raised.value.permanent and "ca.pem not found" in str(raised.value)


def test_it_builds_a_client_without_contacting_the_cluster() -> None:
    client = es_client(ClusterConfig(name="x", url="http://127.0.0.1:9", api_key="k"))
    assert client.transport.node_pool.get().base_url == "http://127.0.0.1:9"
    client.close()


@pytest.mark.parametrize("make_client", [es_client, opensearch_client])
def test_a_missing_ca_file_is_refused_by_either_client(tmp_path: Path, make_client: Any) -> None:
    cluster = ClusterConfig(
        name="secure", url="https://127.0.0.1:9", ca_file=str(tmp_path / "ca.pem")
    )
    with pytest.raises(SourceError) as raised:
        make_client(cluster)
    assert raised.value.permanent and "ca.pem not found" in str(raised.value)


# ------------------------------------------- the real OpenSearch, over TLS with auth

GOOD_AUTH = "Basic " + base64.b64encode(b"ops:pw").decode()


@pytest.fixture
def guarded_opensearch(opensearch_url: str, certificate: tuple[Path, Path]) -> Iterator[Recorder]:
    """The real OpenSearch behind a local TLS proxy that lets only ``ops:pw`` through.

    What OpenSearch's security plugin would do (the integ-test zip has none): TLS on
    the HTTP port, and 401 for other credentials. Everything else is OpenSearch's own
    answer, headers included.
    """
    upstream = httpx.Client(base_url=opensearch_url, timeout=30)
    recorder = Recorder(url="")

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            recorder.paths.append(f"{self.command} {self.path.split('?')[0]}")
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Authorization") != GOOD_AUTH:
                status, headers, data = 401, {"Content-Type": "text/plain"}, b"Unauthorized"
            else:
                kind = self.headers.get("Content-Type", "application/json")
                answer = upstream.request(
                    self.command, self.path, content=body, headers={"Content-Type": kind}
                )
                status, data = answer.status_code, answer.content
                keep = ("content-type", "x-opensearch-version")
                headers = {k: v for k, v in answer.headers.items() if k.lower() in keep}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    server.socket = _tls_context(certificate).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.url = f"https://127.0.0.1:{server.server_address[1]}"
    yield recorder
    server.shutdown()
    server.server_close()
    upstream.close()


@pytest.mark.parametrize("configured", [None, Product.OPENSEARCH], ids=["detected", "configured"])
def test_the_real_opensearch_answers_over_tls_with_basic_auth(
    guarded_opensearch: Recorder,
    opensearch_server: SearchServer,
    certificate: tuple[Path, Path],
    configured: Product | None,
) -> None:
    index = unique_name("test-tls-")
    opensearch_server.index_documents(index, sample_documents())
    try:
        options = {"ca_file": str(certificate[0]), "product": configured}
        good = ClusterConfig(
            "secure", guarded_opensearch.url, username="ops", password="pw", **options
        )
        assert count_on(good, index) == len(INSIDE)
        searched = f"POST /{index}/_count"
        assert guarded_opensearch.paths == (["GET /"] if configured is None else []) + [searched]

        bad = ClusterConfig(
            "secure", guarded_opensearch.url, username="ops", password="no", **options
        )
        with pytest.raises(SourceError) as raised:
            count_on(bad, index)
        assert raised.value.permanent
        assert ("refused the credentials" if configured is None else "Unauthorized") in str(
            raised.value
        )
    finally:
        opensearch_server.delete_indices(index)
