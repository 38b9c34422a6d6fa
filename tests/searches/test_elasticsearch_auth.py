"""Cluster credentials and TLS, against a local HTTP(S) endpoint that records each request.

The test Elasticsearch runs with security off (it would accept any credentials), so
what the client really sends is checked on a small server that answers ``_count``
the way Elasticsearch does, over plain HTTP and over TLS with a self-signed CA.
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

import pytest

from bot.config import ClusterConfig, Settings
from searches.base import SourceContext, SourceError
from searches.elasticsearch import ElasticsearchSource, es_client
from tests.searches.conftest import WINDOW


@dataclass
class Recorder:
    url: str
    headers: list[dict[str, str]] = field(default_factory=list)


def _serve(tls: ssl.SSLContext | None) -> Iterator[Recorder]:
    recorder = Recorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            recorder.headers.append({k.lower(): v for k, v in self.headers.items()})
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"count": 42, "_shards": {"total": 1}}).encode()
            self.send_response(200)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
def plain_server() -> Iterator[Recorder]:
    yield from _serve(None)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Recorder]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    yield from _serve(context)


def count_on(cluster: ClusterConfig) -> int | None:
    settings = Settings(clusters={"secure": cluster})
    config = ElasticsearchSource.parse_config(
        {"index": "logs", "cluster": "secure", "mode": "count", "timeout_seconds": 5}
    )
    return ElasticsearchSource(config, SourceContext(settings=settings)).run(WINDOW).count


def test_it_sends_the_api_key(plain_server: Recorder) -> None:
    cluster = ClusterConfig(name="secure", url=plain_server.url, api_key="a2V5OnNlY3JldA==")
    assert count_on(cluster) == 42
    assert plain_server.headers[-1]["authorization"] == "ApiKey a2V5OnNlY3JldA=="


def test_it_sends_basic_auth(plain_server: Recorder) -> None:
    cluster = ClusterConfig(name="secure", url=plain_server.url, username="ops", password="pw")
    assert count_on(cluster) == 42
    expected = "Basic " + base64.b64encode(b"ops:pw").decode()
    assert plain_server.headers[-1]["authorization"] == expected


def test_it_trusts_a_server_signed_by_the_configured_ca(
    tls_server: Recorder, certificate: tuple[Path, Path]
) -> None:
    cluster = ClusterConfig(name="secure", url=tls_server.url, ca_file=str(certificate[0]))
    assert count_on(cluster) == 42


def test_it_refuses_an_unknown_certificate_unless_verification_is_off(
    tls_server: Recorder,
) -> None:
    with pytest.raises(SourceError) as raised:
        count_on(ClusterConfig(name="secure", url=tls_server.url))
    assert not raised.value.permanent and "CERTIFICATE_VERIFY_FAILED" in str(raised.value)
    unverified = ClusterConfig(name="secure", url=tls_server.url, verify_certs=False)
    assert count_on(unverified) == 42


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
