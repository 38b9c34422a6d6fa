"""HTTP routing of the stand-in (stdlib ThreadingHTTPServer: one thread per request).

POST /api/<method>         Slack's Web API (webapi.py, methods/)
POST /upload/<file_id>     upload URLs from files.getUploadURLExternal
POST /response/<token>     response_urls (responseurl.py)
GET  /files/<id>           uploaded bytes
GET  /, /static/<file>     the web page (standin/static/), /archives/... too
/ui/api/...                the page's JSON API (uiapi.py)
"""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from standin import uiapi
from standin.methods.files import receive_upload
from standin.responseurl import handle_response_url
from standin.webapi import ApiError, Reply, parse_body

if TYPE_CHECKING:
    from standin.standin import SlackStandIn

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog of 5 drops connections when the bot fires 20 calls at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], standin: SlackStandIn) -> None:
        super().__init__(address, StandInHandler)
        self.standin = standin

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser tab closed during a long-poll is normal, not a stand-in failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class StandInHandler(BaseHTTPRequestHandler):
    server: StandInServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ---------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reply(self, reply: Reply) -> None:
        body = json.dumps(reply.body).encode()
        self._send(reply.status, body, "application/json; charset=utf-8", reply.headers)

    def _not_found(self) -> None:
        self._reply(Reply(404, {"ok": False, "error": "not_found"}))

    def _guarded(self, route: Callable[[], None]) -> None:
        """A bug in the stand-in answers 500 like Slack's `internal_error`, never a hang."""
        try:
            route()
        except Exception:
            log.exception("stand-in failed on %s %s", self.command, self.path)
            self._reply(Reply(500, {"ok": False, "error": "internal_error"}))

    # -- routes -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_HEAD(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        path, standin = url.path, self.server.standin
        if path.startswith("/api/"):
            self._api(path[5:], query, b"")
        elif path == "/ui/api/state":
            self._reply(Reply(200, uiapi.snapshot(standin.ctx, query.get("user", "U_ALICE"))))
        elif path == "/ui/api/events":
            since, timeout = int(query.get("since", 0)), float(query.get("timeout", 25))
            self._reply(Reply(200, uiapi.wait_events(standin.ctx, since, timeout)))
        elif path.startswith("/files/"):
            self._file(path[7:])
        elif path in ("/", "/index.html") or path.startswith("/archives/"):
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path[8:])
        elif path == "/healthz":
            self._reply(Reply(200, {"ok": True}))
        else:
            self._not_found()

    def _post(self) -> None:
        url = urlsplit(self.path)
        path, standin = url.path, self.server.standin
        body = self._body()
        if path.startswith("/api/"):
            self._api(path[5:], dict(parse_qsl(url.query)), body)
        elif path.startswith("/upload/"):
            self._upload(path[8:], body)
        elif path.startswith("/response/"):
            self._reply(handle_response_url(standin.ctx, path[10:], body))
        elif path.startswith("/ui/api/"):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = None
            self._reply(uiapi.post(standin.interactions, path[8:], data))
        elif path == "/_faults":
            self._faults(body)
        else:
            self._not_found()

    def _api(self, method: str, query: dict[str, str], body: bytes) -> None:
        try:
            args = {**query, **parse_body(self.headers.get("Content-Type", ""), body)}
        except (ApiError, ValueError):
            self._reply(Reply(200, {"ok": False, "error": "invalid_form_data"}))
            return
        reply = self.server.standin.webapi.call(method, args, self.headers.get("Authorization"))
        self._reply(reply)

    def _faults(self, body: bytes) -> None:
        """Switch faults on or off (standin/faults.py)."""
        try:
            data = json.loads(body or b"{}")
            self.server.standin.faults.apply_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            self._reply(Reply(400, {"ok": False, "error": f"bad fault: {exc}"}))
            return
        self._reply(Reply(200, {"ok": True}))

    def _upload(self, file_id: str, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            parts = parse_body(content_type, body)
            data = next((v for v in parts.values() if isinstance(v, bytes)), b"")
        else:
            data = body
        if not receive_upload(self.server.standin.ctx, file_id, data):
            self._send(404, b"file_not_found", "text/plain")
            return
        self._send(200, f"OK - {len(data)}".encode(), "text/plain")

    def _file(self, file_id: str) -> None:
        stored = self.server.standin.ctx.workspace.files.get(file_id)
        if stored is None or stored.data is None:
            self._not_found()
            return
        self._send(200, stored.data, stored.mimetype)

    def _static(self, name: str) -> None:
        static_dir = self.server.standin.static_dir.resolve()
        target = (static_dir / name).resolve()
        if not target.is_relative_to(static_dir) or not target.is_file():
            if name == "index.html":
                page = b"<!doctype html><title>411 stand-in</title><p>No page installed.</p>"
                self._send(200, page, "text/html; charset=utf-8")
            else:
                self._not_found()
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        self._send(200, target.read_bytes(), content_type)
