"""The `411` command as a process: secrets stay hidden, failures are one line, not tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from standin import SlackStandIn

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "S3cretPw"
SQL_SEARCH = f"""
name: failed logins
source: sql
source_config:
  url: postgresql+psycopg://reader:{PASSWORD}@db.example/app
  query: SELECT 1
channel: C_ALERTS
"""
ES_SEARCH = """
name: es down
source: elasticsearch
source_config: {index: logs-*, query: error}
channel: C_ALERTS
"""


def run_411(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "ELASTICSEARCH"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**base, "PYTHONPATH": str(REPO), **env},
        cwd=cwd,
        timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / '411.db'}"}
    assert run_411("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    (tmp_path / "sql.yaml").write_text(SQL_SEARCH)
    imported = run_411("search", "import", "sql.yaml", env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    return env


def test_search_show_masks_the_database_password(db_env: dict[str, str], tmp_path: Path) -> None:
    result = run_411("search", "show", "failed logins", env=db_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "url: postgresql+psycopg://reader:***@db.example/app" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr


def test_search_export_keeps_the_secret_but_warns_on_stderr(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_411("search", "export", "1", env=db_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"reader:{PASSWORD}@db.example/app" in result.stdout
    assert "source_config.url holds a secret in plain text; consider url_env" in result.stderr
    by_name = run_411("search", "export", "failed logins", env=db_env, cwd=tmp_path)
    assert by_name.stdout == result.stdout


def test_search_export_of_an_unknown_search_is_a_one_line_error(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_411("search", "export", "nosuch", env=db_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "411: error: no search with id or name 'nosuch'\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("product", "title"),
    [("", "Elasticsearch"), ("elasticsearch", "Elasticsearch"), ("opensearch", "OpenSearch")],
)
def test_an_unreachable_elasticsearch_gives_no_tracebacks(
    db_env: dict[str, str], tmp_path: Path, product: str, title: str
) -> None:
    # Without a product the Elasticsearch client asks which it is; with one, that
    # product's client (opensearch-py for OpenSearch) makes the request.
    (tmp_path / "es.yaml").write_text(ES_SEARCH)
    env = {
        **db_env,
        "ELASTICSEARCH_URL": f"http://127.0.0.1:{closed_port()}",
        "ELASTICSEARCH_PRODUCT": product,
    }
    result = run_411("search", "test", "es.yaml", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{title} cluster 'default' unreachable" in result.stdout
    assert "Traceback" not in result.stderr
    assert "Retrying request" not in result.stderr
    # A real run (what the worker does) logs no retry tracebacks either.
    assert run_411("search", "import", "es.yaml", env=env, cwd=tmp_path).returncode == 0
    ran = run_411("search", "run", "es down", env=env, cwd=tmp_path)
    assert ran.returncode == 1 and "status=failed" in ran.stdout
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_an_unreachable_slack_is_a_one_line_error_naming_slack_api_url(
    command: str, db_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **db_env,
        "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
        "SLACK_BOT_TOKEN": "xoxb-right",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_APP_TOKEN": "xapp-1-right",
    }
    result = run_411(command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("411: error: cannot reach Slack at SLACK_API_URL http://")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    stand = SlackStandIn("secret", "xoxb-right")
    stand.start()
    yield stand
    stand.stop()


@pytest.mark.parametrize("command", ["serve", "socket"])
def test_a_refused_bot_token_is_a_one_line_error_naming_slack_bot_token(
    command: str, db_env: dict[str, str], tmp_path: Path, standin: SlackStandIn
) -> None:
    env = {
        **db_env,
        "SLACK_API_URL": standin.api_url,
        "SLACK_BOT_TOKEN": "xoxb-wrong",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_APP_TOKEN": "xapp-1-right",
    }
    result = run_411(command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"411: error: Slack at {standin.api_url} refused SLACK_BOT_TOKEN: invalid_auth\n"
    )
