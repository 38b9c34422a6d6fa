"""The worker's operations endpoint: ``/metrics``, ``/livez``, ``/readyz`` (port ``OPS_PORT``).

- ``/metrics``: Prometheus text format (bot/metrics.py).
- ``/livez``: 200 while the worker's loops are running (a restart would help otherwise);
  a database outage does not make the worker dead.
- ``/readyz``: 200 when the database answers and the oldest unsent delivery is younger
  than ``READY_MAX_BACKLOG_AGE``; 503 with the reason otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from bot.metrics import CONTENT_TYPE, exposition
from bot.ops.status import ready

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


class OpsServer:
    def __init__(
        self,
        runtime: Runtime,
        port: int,
        alive: Callable[[], bool],
        host: str = "0.0.0.0",
    ) -> None:
        self.runtime = runtime
        self.alive = alive
        handler = self._handler()
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="ops-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, exposition(server.runtime), CONTENT_TYPE)
                elif path == "/livez":
                    ok = server.alive()
                    self._json(200 if ok else 503, {"ok": ok})
                elif path == "/readyz":
                    ok, reason = ready(
                        server.runtime, server.runtime.settings.ready_max_backlog_age
                    )
                    self._json(200 if ok else 503, {"ok": ok, "reason": reason})
                else:
                    self._json(404, {"error": "not found"})

            def _json(self, status: int, body: dict[str, object]) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return  # a scrape every 15 s is not news

        return Handler
