"""The `411` command as a user runs it: a real process, real databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.db import make_engine

REPO = Path(__file__).resolve().parents[2]


def run_411(
    *args: str, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
    )


def test_it_lists_the_commands_in_help() -> None:
    result = run_411("--help")
    assert result.returncode == 0
    for command in ("db", "config"):
        assert command in result.stdout


def test_it_creates_the_schema_on_an_empty_database(empty_db_url: str) -> None:
    result = run_411("db", "upgrade", env={"DATABASE_URL": empty_db_url})
    assert result.returncode == 0, result.stderr
    tables = set(inspect(make_engine(empty_db_url)).get_table_names())
    assert {"searches", "alerts", "alert_events", "deliveries", "suppressions"} <= tables


def test_it_reports_a_missing_signing_secret(tmp_path: Path) -> None:
    result = run_411(
        "config",
        "check",
        "--mode",
        "http",
        env={"SLACK_BOT_TOKEN": "xoxb-test-token-1234"},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "http mode: cannot start, missing SLACK_SIGNING_SECRET" in result.stdout
    assert "xoxb-test-token-1234" not in result.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a usable database URL"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot reach the database"),
        ("sqlite:////nonexistent-dir/sub/411.db", "cannot reach the database"),
    ],
)
def test_it_gives_a_one_line_error_for_a_bad_database(
    url: str, expected: str, tmp_path: Path
) -> None:
    result = run_411("db", "upgrade", env={"DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
