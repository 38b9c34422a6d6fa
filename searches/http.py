"""HTTP: request a URL and alert on its status code, a body regex, or a JSON value.

Modes:
- ``hits`` (default): when ``json_path`` points at a list of objects, one hit per
  object; otherwise one hit describing the response when something is wrong with it
  (and none when all is well): a status outside ``expect_status`` (default: any
  2xx), or ``body_regex`` matching (with ``regex_must_match: true``: not matching).
  Its id names the URL and the problem, so a failure that lasts stays one alert.
- ``count``: the number at ``json_path`` (a list or object counts its length), else the
  number of ``body_regex`` matches; the pipeline compares it with the threshold.

Outgoing requests are bounded: hosts are checked by :mod:`searches.http_policy` on
every redirect hop and against the connected address, redirects are followed by hand
(at most ``max_redirects``), the whole exchange has a deadline (``timeout_seconds``,
and the run's own deadline: each phase's timeout is capped by the time left, and the
body is checked against both while it streams, so a server trickling bytes cannot hold
a run), the body is streamed and reading stops at ``max_bytes``, and proxy variables from the environment are
ignored (a proxy would hide the real destination from the check).

Credentials belong in ``headers_env`` (``{Authorization: API_AUTH}``: header name to
the environment variable holding its value), read when the search runs, so they stay
out of the definition users can see.
"""

from __future__ import annotations

import codecs
import enum
import ipaddress
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from searches.base import (
    FieldError,
    Hit,
    ResultKind,
    Source,
    SourceCancelled,
    SourceContext,
    SourceError,
    SourceResult,
    TimeWindow,
)
from searches.common import ConfigReader, check_env_name, env_secret, get_path, split_path
from searches.http_policy import ForbiddenHost, HostPolicy, literal_address

MAX_BYTES = 10 * 1024 * 1024
BODY_EXCERPT = 500


class HttpMode(enum.StrEnum):
    HITS = "hits"
    COUNT = "count"


class Method(enum.StrEnum):
    GET = "GET"
    POST = "POST"


@dataclass(frozen=True)
class HttpConfig:
    url: str
    method: Method = Method.GET
    headers: dict[str, str] = field(default_factory=dict)
    headers_env: dict[str, str] = field(default_factory=dict)  # header -> env variable
    body: str | None = None
    json_body: Any = None  # the "json" key: sent as a JSON request body
    mode: HttpMode = HttpMode.HITS
    expect_status: tuple[int, ...] = ()  # empty: any 2xx
    body_regex: re.Pattern[str] | None = None
    regex_must_match: bool = False  # True: alert when the regex does NOT match
    json_path: tuple[str | int, ...] | None = None
    timeout_seconds: float = 10.0
    max_bytes: int = 1024 * 1024
    max_redirects: int = 3


@dataclass
class Response:
    url: str
    status: int
    text: str
    truncated: bool
    elapsed_ms: int


def parse_http_config(raw: Mapping[str, Any]) -> HttpConfig:
    reader = ConfigReader(raw)
    url = reader.text("url")
    if url and not re.match(r"^https?://[^/\s]+", url, re.I):
        reader.error("url", "must be an http:// or https:// URL with a host")
    method = reader.choice("method", Method, Method.GET)
    headers = reader.mapping("headers") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        reader.error("headers", "must map header names to text values")
    headers_env = _headers_env(reader, headers)
    body, json_body = reader.text("body", None, allow_empty=True), reader.value("json")
    if body is not None and json_body is not None:
        reader.error("body", "give either body or json, not both")
    regex = _regex(reader)
    json_path = _json_path(reader)
    mode = reader.choice("mode", HttpMode, HttpMode.HITS)
    if mode is HttpMode.COUNT and json_path is None and regex is None:
        reader.error("mode", "count needs json_path (a number) or body_regex (matches counted)")
    expect = reader.value("expect_status")
    expect_status = tuple(expect) if isinstance(expect, list) else (expect,) if expect else ()
    if not all(isinstance(s, int) and 100 <= s <= 599 for s in expect_status):
        reader.error("expect_status", "must be HTTP status codes (100-599)")
    config = HttpConfig(
        url=url,
        method=method,
        headers=headers,
        headers_env=headers_env,
        body=body,
        json_body=json_body,
        mode=mode,
        expect_status=expect_status,
        body_regex=regex,
        regex_must_match=reader.flag("regex_must_match", False),
        json_path=json_path,
        timeout_seconds=reader.number("timeout_seconds", 10.0, low=0.1, high=120),
        max_bytes=reader.integer("max_bytes", 1024 * 1024, low=1, high=MAX_BYTES),
        max_redirects=reader.integer("max_redirects", 3, low=0, high=10),
    )
    reader.finish()
    return config


def _headers_env(reader: ConfigReader, headers: Mapping[str, Any]) -> dict[str, str]:
    raw = reader.mapping("headers_env") or {}
    if not all(isinstance(k, str) and k.strip() for k in raw):
        reader.error("headers_env", "must map header names to environment variable names")
        return {}
    for header, variable in raw.items():
        check_env_name(reader, f"headers_env.{header}", variable)
    plain = {str(k).lower() for k in headers}
    for header in raw:
        if header.lower() in plain:
            reader.error(f"headers_env.{header}", "is also in headers; give it in one place")
    return raw


def _regex(reader: ConfigReader) -> re.Pattern[str] | None:
    source = reader.text("body_regex", None)
    if not source:
        return None
    try:
        return re.compile(source)
    except re.error as exc:
        reader.error("body_regex", f"is not a valid regular expression: {exc}")
        return None


def _json_path(reader: ConfigReader) -> tuple[str | int, ...] | None:
    path = reader.text("json_path", None)
    if not path:
        return None
    parts = split_path(path)
    if parts is None:
        reader.error("json_path", f"{path!r} is not a path like data.items[0].count")
        return None
    return tuple(parts)


class HttpSource(Source):
    name = "http"
    description = "request a URL; alert on status, a body regex or a JSON value"
    config: HttpConfig

    def __init__(self, config: HttpConfig, context: SourceContext):
        super().__init__(config, context)
        self.policy = HostPolicy.from_settings(context.settings)

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> HttpConfig:
        return parse_http_config(raw)

    def result_kind(self) -> ResultKind:
        return ResultKind.COUNT if self.config.mode is HttpMode.COUNT else ResultKind.HITS

    def environment_problems(self) -> list[FieldError]:
        """A host the policy refuses whatever it resolves to, known when the search is saved.

        Names on the deny list and literal addresses (169.254.169.254, loopback, private)
        are refused here; a name is resolved only when the search runs.
        """
        try:
            host = httpx.URL(self.config.url).host
        except httpx.InvalidURL:
            return []  # parse_config reports a malformed URL
        try:
            if self.policy.deny.match_host(host):
                raise ForbiddenHost(f"host {host} is on the deny list")
            literal = literal_address(host)
            if literal is not None:
                self.policy.check_address(host, literal)
        except ForbiddenHost as exc:
            return [FieldError("url", f"refused: {exc}")]
        return []

    def run(self, window: TimeWindow) -> SourceResult:
        response = self.fetch()
        if self.config.mode is HttpMode.COUNT:
            return self._count(response)
        return self._hits(response)

    # ------------------------------------------------------------------- results

    def _count(self, response: Response) -> SourceResult:
        problem = self._status_problem(response)
        if problem:
            raise SourceError(f"{response.url}: {problem}", permanent=False)
        if self.config.json_path is not None:
            count = _as_count(self._json_value(response), self.config.json_path)
        else:
            assert self.config.body_regex is not None
            count = sum(1 for _ in self.config.body_regex.finditer(response.text))
        return SourceResult(ResultKind.COUNT, count=count, truncated=response.truncated)

    def _hits(self, response: Response) -> SourceResult:
        problem = self._status_problem(response)
        value = None
        if self.config.json_path is not None and not problem:
            value = self._json_value(response)
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                now = datetime.now(UTC)
                hits = [Hit(None, now, dict(item)) for item in value]
                return SourceResult(ResultKind.HITS, hits=hits, truncated=response.truncated)
        problem = problem or self._regex_problem(response)
        if not problem:
            return SourceResult(ResultKind.HITS, truncated=response.truncated)
        fields = {
            "url": response.url,
            "status": response.status,
            "reason": problem,
            "body": response.text[:BODY_EXCERPT],
            "elapsed_ms": response.elapsed_ms,
        }
        if value is not None:
            fields["value"] = value
        # The id names the problem, so the same failure on the next run is the same alert.
        hit = Hit(f"{response.url} {problem}", datetime.now(UTC), fields)
        return SourceResult(ResultKind.HITS, hits=[hit], truncated=response.truncated)

    def _status_problem(self, response: Response) -> str | None:
        expected = self.config.expect_status
        if expected and response.status not in expected:
            return f"status {response.status}, expected {', '.join(map(str, expected))}"
        if not expected and not 200 <= response.status < 300:
            return f"status {response.status}, expected 2xx"
        return None

    def _regex_problem(self, response: Response) -> str | None:
        regex = self.config.body_regex
        if regex is None:
            return None
        found = regex.search(response.text) is not None
        if found and not self.config.regex_must_match:
            return f"body matches /{regex.pattern}/"
        if not found and self.config.regex_must_match:
            return f"body does not match /{regex.pattern}/"
        return None

    def _json_value(self, response: Response) -> Any:
        try:
            document = json.loads(response.text)
        except ValueError:
            cut = " (cut at max_bytes)" if response.truncated else ""
            raise SourceError(
                f"{response.url}: the body is not JSON{cut}", permanent=False
            ) from None
        assert self.config.json_path is not None
        return get_path(document, self.config.json_path)

    # ------------------------------------------------------------------- transport

    def fetch(self) -> Response:
        """The final response after checked redirects, its body read up to max_bytes."""
        config = self.config
        deadline = time.monotonic() + config.timeout_seconds
        started = time.monotonic()
        with httpx.Client(
            timeout=config.timeout_seconds, follow_redirects=False, trust_env=False
        ) as client:
            request = client.build_request(
                config.method.value,
                config.url,
                headers=self._headers(),
                content=config.body,
                json=config.json_body,
            )
            for _hop in range(config.max_redirects + 1):
                self._check(request.url)
                # Per request (redirects too): connect, write, read and pool waits each
                # end by the config's deadline and the run's.
                request.extensions["timeout"] = self._phase_timeout(deadline).as_dict()
                try:
                    response = client.send(request, stream=True)
                except httpx.TimeoutException:
                    raise self._timeout() from None
                except httpx.HTTPError as exc:
                    raise SourceError(f"{request.url}: {exc}", permanent=False) from None
                try:
                    self._check_peer(response)
                    if response.next_request is None:
                        text, truncated = self._read(response, deadline)
                        elapsed = int((time.monotonic() - started) * 1000)
                        return Response(
                            str(request.url), response.status_code, text, truncated, elapsed
                        )
                    request = response.next_request
                finally:
                    response.close()
        raise SourceError(
            f"{config.url}: more than {config.max_redirects} redirects", permanent=True
        )

    def _phase_timeout(self, deadline: float) -> httpx.Timeout:
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._timeout()
        return httpx.Timeout(self.deadline.bound(min(self.config.timeout_seconds, left)))

    def _headers(self) -> dict[str, str]:
        secret = {
            header: env_secret(f"headers_env.{header}", variable)
            for header, variable in self.config.headers_env.items()
        }
        return {**self.config.headers, **secret}

    def _check(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            raise SourceError(f"refused {url}: only http and https", permanent=True)
        try:
            self.policy.check(url.host, url.port or (443 if url.scheme == "https" else 80))
        except ForbiddenHost as exc:
            raise SourceError(f"refused {url}: {exc}", permanent=True) from None
        except OSError as exc:
            raise SourceError(f"{url}: {exc}", permanent=False) from None

    def _check_peer(self, response: httpx.Response) -> None:
        # The address really connected to: closes the gap a changing DNS answer would open.
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            return
        try:
            self.policy.check_address(response.url.host, ipaddress.ip_address(peer[0]))
        except ForbiddenHost as exc:
            raise SourceError(f"refused {response.url}: {exc}", permanent=True) from None

    def _read(self, response: httpx.Response, deadline: float) -> tuple[str, bool]:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                if time.monotonic() > deadline or self.deadline.expired():
                    raise self._timeout()
                chunks.append(chunk[: self.config.max_bytes - size])
                size += len(chunk)
                if size >= self.config.max_bytes:
                    return b"".join(chunks).decode(
                        _charset(response), "replace"
                    ), size > self.config.max_bytes
        except httpx.TimeoutException:
            raise self._timeout() from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{response.url}: {exc}", permanent=False) from None
        return b"".join(chunks).decode(_charset(response), "replace"), False

    def _timeout(self) -> SourceError:
        if self.deadline.expired():  # the run's deadline came first, not the config's
            return SourceCancelled(f"{self.config.url}: stopped at the run's deadline")
        return SourceError(
            f"{self.config.url}: timed out after {self.config.timeout_seconds:g}s", permanent=False
        )


def _charset(response: httpx.Response) -> str:
    name = response.charset_encoding or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        return "utf-8"
    return name


def _as_count(value: Any, path: tuple[str | int, ...]) -> int:
    if isinstance(value, bool) or value is None:
        raise SourceError(f"json_path {_show(path)} holds {value!r}, not a number", permanent=False)
    if isinstance(value, list | dict):
        return len(value)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise SourceError(f"json_path {_show(path)} holds {value!r}, not a number") from None
    return round(float(value))


def _show(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
