"""The Slack stand-in and a bot runtime pointed at it (tests/slack/conftest.py)."""

from tests.slack.conftest import loop, runtime, standin  # noqa: F401
