"""Settings come from the environment; bad values fail with a clear message."""

from __future__ import annotations

import pytest

from bot.cli.config_cmd import mask, missing_for, render
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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BURST_THRESHOLD", "-3", "BURST_THRESHOLD must be at least 1, not -3"),
        ("BURST_THRESHOLD", "0", "BURST_THRESHOLD must be at least 1, not 0"),
        ("PORT", "0", "PORT must be between 1 and 65535, not 0"),
        ("PORT", "70000", "PORT must be between 1 and 65535, not 70000"),
        ("LOG_LEVEL", "chatty", "LOG_LEVEL must be one of DEBUG, INFO"),
    ],
)
def test_it_rejects_numbers_and_levels_that_make_no_sense(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings({name: value})


def test_config_check_shows_every_setting_and_no_secret_character() -> None:
    secret = "Qz7vKp9wXr2mLs8tBn4cJd6fHg1yWe3u"
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1234-5678-tokenvalue",
            "SLACK_SIGNING_SECRET": secret,
            "ELASTICSEARCH_URL": "http://elastic:EsPassw0rd@es:9200",
            "ELASTICSEARCH_SIEM_URL": "http://siem:9200",
            "ELASTICSEARCH_SIEM_SIGMA_PIPELINE": "ecs_windows_old",
            "PUBLIC_URL": "https://411.example.com",
            "THREAD_REPLIES": "false",
            "BURST_THRESHOLD": "12",
            "LOG_LEVEL": "debug",
        }
    )
    text = "\n".join(render(settings))
    assert "ELASTICSEARCH[default] http://elastic:***@es:9200" in text
    assert (
        "ELASTICSEARCH[siem] http://siem:9200 (no auth, verify=True, product detected, Sigma pipeline ecs_windows_old)"
        in text
    )
    assert "EsPassw0rd" not in text
    assert "SLACK_BOT_TOKEN       xoxb-*** (25 chars)" in text
    assert "SLACK_SIGNING_SECRET  *** (32 chars)" in text
    assert not any(secret[i : i + 3] in text for i in range(len(secret) - 2))
    assert "tokenvalue" not in text and "1234" not in text
    for line in (
        "PUBLIC_URL            https://411.example.com",
        "THREAD_REPLIES        off",
        "BURST_THRESHOLD       12",
        "LOG_LEVEL             DEBUG",
    ):
        assert line in text
