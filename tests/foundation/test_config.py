"""Settings come from the environment; bad values fail with a clear message."""

from __future__ import annotations

import pytest

from bot.cli.config_cmd import mask, missing_for
from bot.config import Mode, load_settings
from bot.errors import ConfigurationError


def test_it_defaults_to_sqlite_and_slack() -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.clusters == {}


def test_it_reads_several_named_clusters_with_their_auth() -> None:
    settings = load_settings(
        {
            "ELASTICSEARCH_URL": "http://es:9200",
            "ELASTICSEARCH_API_KEY": "k1",
            "ELASTICSEARCH_SECURITY_URL": "https://sec:9200",
            "ELASTICSEARCH_SECURITY_USERNAME": "elastic",
            "ELASTICSEARCH_SECURITY_PASSWORD": "pw",
            "ELASTICSEARCH_SECURITY_CA_FILE": "/etc/ca.pem",
            "ELASTICSEARCH_SECURITY_VERIFY_CERTS": "false",
        }
    )
    assert set(settings.clusters) == {"default", "security"}
    assert settings.clusters["default"].api_key == "k1"
    security = settings.clusters["security"]
    assert (security.username, security.password, security.ca_file) == (
        "elastic",
        "pw",
        "/etc/ca.pem",
    )
    assert security.verify_certs is False


def test_it_adds_the_trailing_slash_the_web_client_needs() -> None:
    assert load_settings({"SLACK_API_URL": "http://127.0.0.1:9/api"}).slack_api_url.endswith(
        "/api/"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT must be a whole number"),
        ("THREAD_REPLIES", "maybe", "THREAD_REPLIES must be true or false"),
        ("TIMEZONE", "Mars/Olympus", "not a known IANA time zone"),
    ],
)
def test_it_rejects_bad_values_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings({name: value})


def test_it_says_what_each_mode_is_missing() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert missing_for(Mode.HTTP, settings) == ["SLACK_SIGNING_SECRET"]
    assert missing_for(Mode.SOCKET, settings) == ["SLACK_APP_TOKEN"]
    assert missing_for(Mode.DEV, settings) == []


def test_it_masks_secrets() -> None:
    assert "supersecretvalue" not in mask("xoxb-supersecretvalue")
    assert mask(None) == "(not set)"
