"""`411 dev` as a person runs it: a subprocess, a page that answers, alerts within a minute."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ALERTS_WITHIN_SECONDS = 60
BANNER = re.compile(r"Open the Slack stand-in:\s+(http://\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


class Running:
    """A `411 dev` subprocess whose output is collected by a thread."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "dev", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url: str | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = BANNER.search(line)
            if match:
                self.url = match.group(1)
                self.ready.set()
        self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path, "--port", str(free_port()))
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=10)


def bot_messages(url: str, channel: str) -> list[dict[str, Any]]:
    state = get_json(f"{url}ui/api/state?user=U_ALICE")
    return [m for m in state["messages"][channel] if m.get("bot_id")]


def test_it_comes_up_serves_the_page_and_posts_demo_alerts_within_a_minute(
    dev: Running, tmp_path: Path
) -> None:
    assert dev.ready.wait(60), f"no banner from `411 dev`:\n{dev.output}"
    assert dev.url, f"`411 dev` exited:\n{dev.output}"
    assert "NOT RUNNING" not in dev.output, dev.output

    with urllib.request.urlopen(dev.url, timeout=10) as response:
        page = response.read().decode()
    assert "/static/js/app.js" in page

    alerts: list[dict[str, Any]] = []
    deadline = dev.started + ALERTS_WITHIN_SECONDS
    while time.monotonic() < deadline and not alerts:
        alerts = [m for m in bot_messages(dev.url, "C_ALERTS") if m.get("blocks")]
        time.sleep(1)
    elapsed = time.monotonic() - dev.started
    assert alerts, f"no alert in #alerts {ALERTS_WITHIN_SECONDS}s after start:\n{dev.output}"
    print(f"first alert on the page {elapsed:.1f}s after `411 dev` started")
    actions = [
        e["action_id"]
        for m in alerts
        for b in m["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert "alert_take" in actions

    assert (tmp_path / "411-dev.db").exists()
    assert (tmp_path / "411-dev-data" / "events.jsonl").stat().st_size > 0
    assert dev.stop() == 0
    assert "411 dev: stopped." in dev.output


def test_it_starts_again_on_the_same_database_without_duplicating_the_demo(tmp_path: Path) -> None:
    for _ in range(2):
        run = Running(tmp_path, "--port", str(free_port()))
        try:
            assert run.ready.wait(60) and run.url, run.output
            listing = get_json(f"{run.url}ui/api/state?user=U_ALICE")
            assert listing["me"] == "U_ALICE"
        finally:
            assert run.stop() == 0, run.output
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / '411-dev.db'}")
    with engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM searches ORDER BY name")).scalars().all()
        digests = (
            connection.execute(text("SELECT channel FROM digest_subscriptions")).scalars().all()
        )
    engine.dispose()
    assert names == sorted(set(names)) and len(names) == 4
    assert digests == ["C_DIGEST"]


def test_it_says_which_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "dev", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_it_takes_a_plain_file_path_for_the_database(tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    database = tmp_path / "x.db"
    run = Running(workdir, "--port", str(free_port()), "--no-demo", "--db", str(database))
    try:
        assert run.ready.wait(60) and run.url, run.output
        assert f"sqlite:///{database}" in run.output
    finally:
        assert run.stop() == 0, run.output
    assert database.stat().st_size > 0
    assert not (workdir / "411-dev.db").exists()


def test_it_names_the_db_option_when_the_value_is_no_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "dev", "--port", str(free_port()), "--db", "nosuch://x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--db 'nosuch://x' is neither a usable database URL nor a file path" in result.stderr
    assert "DATABASE_URL" not in result.stderr
