"""The http source against a real HTTP server on loopback, and its host restrictions."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.config import Settings
from searches.base import ResultKind, SourceConfigError, SourceContext, SourceError
from searches.http import HttpSource
from searches.http_policy import HostPolicy, is_internal
from tests.searches.conftest import WINDOW

ITEMS = {"data": {"items": [{"count": 7, "name": "queue-a"}, {"count": 3, "name": "queue-b"}]}}


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        Handler.requests.append(self.path)
        routes = {
            "/items": lambda: self._send(200, json.dumps(ITEMS)),
            "/broken": lambda: self._send(500, "boom"),
            "/text": lambda: self._send(200, "3 jobs: ERROR, ERROR and ok"),
            "/to-items": lambda: self._redirect("/items"),
            "/to-metadata": lambda: self._redirect("http://169.254.169.254/latest/meta-data/"),
            "/to-private": lambda: self._redirect("http://10.0.0.1/"),
            "/loop": lambda: self._redirect("/loop"),
            "/big": self._big,
            "/slow": self._slow,
        }
        routes.get(self.path, lambda: self._send(404, "not found"))()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        echo = {"body": self.rfile.read(length).decode(), "token": self.headers.get("X-Token")}
        self._send(200, json.dumps({"echo": echo}))

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(50 * 1024 * 1024))
        self.end_headers()
        try:
            for _ in range(50 * 1024):
                self.wfile.write(b"ERROR " * 170 + b"....")
        except OSError:  # the client stopped reading, as it should
            pass

    def _slow(self) -> None:
        time.sleep(2)
        self._send(200, "late")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


ALLOW_LOOPBACK = SourceContext(settings=Settings(http_allow_hosts=("127.0.0.1",)))
DEFAULTS = SourceContext(settings=Settings())


def run(context: SourceContext = ALLOW_LOOPBACK, **raw: Any) -> Any:
    return HttpSource(HttpSource.parse_config(raw), context).run(WINDOW)


def test_it_counts_a_json_value_at_a_path(server: str) -> None:
    result = run(url=f"{server}/items", mode="count", json_path="data.items[0].count")
    assert result.kind is ResultKind.COUNT and result.count == 7


def test_it_counts_the_length_of_a_json_list(server: str) -> None:
    assert run(url=f"{server}/items", mode="count", json_path="data.items").count == 2


def test_it_turns_a_json_list_of_objects_into_hits(server: str) -> None:
    result = run(url=f"{server}/items", json_path="data.items")
    assert [h.fields for h in result.hits] == ITEMS["data"]["items"]


def test_it_alerts_on_an_unexpected_status(server: str) -> None:
    result = run(url=f"{server}/broken")
    (hit,) = result.hits
    assert hit.fields["status"] == 500
    assert hit.fields["reason"] == "status 500, expected 2xx"
    assert hit.fields["body"] == "boom"
    assert hit.id == f"{server}/broken status 500, expected 2xx"  # stable across runs
    assert run(url=f"{server}/text").hits == []  # all is well: nothing to alert on
    assert run(url=f"{server}/broken", expect_status=[500]).hits == []


def test_it_alerts_on_a_body_regex_or_its_absence(server: str) -> None:
    assert run(url=f"{server}/text", body_regex="ERROR").hits[0].fields["reason"] == (
        "body matches /ERROR/"
    )
    assert run(url=f"{server}/text", body_regex="FATAL").hits == []
    missing = run(url=f"{server}/text", body_regex="all good", regex_must_match=True)
    assert missing.hits[0].fields["reason"] == "body does not match /all good/"
    assert run(url=f"{server}/text", body_regex="ERROR", mode="count").count == 2


def test_it_posts_json_with_headers(server: str) -> None:
    result = run(
        url=f"{server}/echo",
        method="POST",
        json={"q": "x"},
        headers={"X-Token": "t1"},
        mode="count",
        json_path="echo",
    )
    assert result.count == 2
    hits = run(
        url=f"{server}/echo", method="POST", body="raw", json_path="echo", expect_status=[201]
    )
    assert hits.hits[0].fields["reason"] == "status 200, expected 201"


def test_it_follows_a_redirect_to_an_allowed_host(server: str) -> None:
    assert run(url=f"{server}/to-items", mode="count", json_path="data.items").count == 2


def test_it_refuses_a_redirect_to_cloud_metadata_or_a_private_host(server: str) -> None:
    for path, reason in [("/to-metadata", "deny list"), ("/to-private", "ALLOW_HOSTS")]:
        with pytest.raises(SourceError) as raised:
            run(url=f"{server}{path}")
        assert raised.value.permanent and reason in str(raised.value)


def test_it_stops_after_max_redirects(server: str) -> None:
    with pytest.raises(SourceError, match="more than 2 redirects"):
        run(url=f"{server}/loop", max_redirects=2)


def test_it_refuses_loopback_without_the_allow_list(server: str) -> None:
    Handler.requests.clear()
    for url in [f"{server}/items", server.replace("127.0.0.1", "localhost") + "/items"]:
        with pytest.raises(SourceError) as raised:
            run(DEFAULTS, url=url)
        assert raised.value.permanent
        assert "loopback, private, link-local or reserved" in str(raised.value)
    assert Handler.requests == []  # refused before any connection


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.1.2.3/",
     "http://[::ffff:127.0.0.1]/", "http://metadata.google.internal/", "http://0.0.0.0/"],
)  # fmt: skip
def test_it_refuses_internal_destinations_without_connecting(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        run(DEFAULTS, url=url, timeout_seconds=5)
    assert raised.value.permanent and "refused" in str(raised.value)
    assert time.monotonic() - started < 1


def test_the_deny_list_wins_over_the_allow_list() -> None:
    context = SourceContext(settings=Settings(http_allow_hosts=("169.254.169.254",)))
    with pytest.raises(SourceError, match="deny list"):
        run(context, url="http://169.254.169.254/")


def test_it_stops_reading_at_max_bytes(server: str) -> None:
    started = time.monotonic()
    result = run(url=f"{server}/big", body_regex="ERROR", mode="count", max_bytes=6000)
    assert result.truncated
    sent = (b"ERROR " * 170 + b"....") * 6
    assert result.count == sent[:6000].count(b"ERROR") == 996  # only what was read
    assert time.monotonic() - started < 2


def test_it_times_out_as_a_transient_error(server: str) -> None:
    with pytest.raises(SourceError) as raised:
        run(url=f"{server}/slow", timeout_seconds=0.3)
    assert not raised.value.permanent and "timed out after 0.3s" in str(raised.value)


def test_a_connection_failure_is_transient() -> None:
    with pytest.raises(SourceError) as raised:
        run(url="http://127.0.0.1:9/", timeout_seconds=2)
    assert not raised.value.permanent


def test_it_reports_every_config_problem_naming_its_field() -> None:
    raw = {
        "url": "ftp://x",
        "method": "DELETE",
        "body_regex": "(",
        "json_path": "a..b",
        "expect_status": [200, 999],
        "max_bytes": 0,
        "body": "x",
        "json": {"a": 1},
    }
    with pytest.raises(SourceConfigError) as raised:
        HttpSource.parse_config(raw)
    fields = {e.field for e in raised.value.errors}
    assert fields == {
        "url",
        "method",
        "body_regex",
        "json_path",
        "expect_status",
        "max_bytes",
        "body",
    }
    with pytest.raises(SourceConfigError, match="mode: count needs json_path"):
        HttpSource.parse_config({"url": "http://example.com", "mode": "count"})


def test_the_policy_classifies_addresses() -> None:
    internal = ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                "100.64.0.1", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "0.0.0.0"]  # fmt: skip
    assert all(is_internal(ipaddress.ip_address(a)) for a in internal)
    assert not is_internal(ipaddress.ip_address("93.184.216.34"))
    policy = HostPolicy.from_settings(Settings(http_allow_hosts=("*.corp.example", "10.9.0.0/16")))
    policy.check_address("db.corp.example", ipaddress.ip_address("10.1.1.1"))
    policy.check_address("anything", ipaddress.ip_address("10.9.3.3"))


def test_it_sends_headers_from_the_variables_headers_env_names(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_411_HTTP_TOKEN", "from-the-environment")
    result = run(
        url=f"{server}/echo",
        method="POST",
        body="x",
        headers_env={"X-Token": "TEST_411_HTTP_TOKEN"},
        json_path="echo",
        expect_status=[201],  # so the echoed request comes back as a hit to look at
    )
    assert result.hits[0].fields["body"] == (
        '{"echo": {"body": "x", "token": "from-the-environment"}}'
    )


def test_an_unset_headers_env_variable_fails_the_run_naming_the_header(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_411_UNSET_TOKEN", raising=False)
    with pytest.raises(SourceError) as raised:
        run(url=f"{server}/items", headers_env={"X-Token": "TEST_411_UNSET_TOKEN"})
    assert str(raised.value).startswith(
        "headers_env.X-Token: environment variable TEST_411_UNSET_TOKEN is not set"
    )


def test_a_header_is_given_either_plainly_or_from_the_environment() -> None:
    with pytest.raises(SourceConfigError) as raised:
        HttpSource.parse_config(
            {
                "url": "http://example.com",
                "headers": {"authorization": "Bearer x"},
                "headers_env": {"Authorization": "AUTH", "X-Key": "not a name"},
            }
        )
    assert {e.field for e in raised.value.errors} == {
        "headers_env.Authorization",
        "headers_env.X-Key",
    }
