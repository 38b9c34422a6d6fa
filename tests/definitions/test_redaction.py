"""Secrets in search definitions and settings are masked wherever they are shown."""

from __future__ import annotations

from bot.definitions.redact import mask_secret, mask_url, redact_config
from bot.definitions.search import parse_definition, redacted_definition_dict, secret_warnings
from bot.definitions.yaml_files import dump_definition

SQL_WITH_PASSWORD = {
    "name": "failed logins",
    "source": "sql",
    "source_config": {
        "url": "postgresql+psycopg://reader:S3cretPw@db.example/app",
        "query": "SELECT 1",
    },
}
HTTP_WITH_TOKEN = {
    "name": "queue depth",
    "source": "http",
    "source_config": {
        "url": "https://user:hunter2@status.example.com/api?api_key=k3y&page=2",
        "headers": {
            "Authorization": "Bearer abc123",
            "Cookie": "session=s1",
            "X-Api-Key": "k2",
            "Accept": "application/json",
        },
        "headers_env": {"X-Token": "STATUS_TOKEN"},
    },
}


def test_it_masks_the_password_of_a_url_and_nothing_else() -> None:
    assert mask_url("postgresql+psycopg://reader:S3cretPw@db.example/app") == (
        "postgresql+psycopg://reader:***@db.example/app"
    )
    assert mask_url("http://u:p@es:9200") == "http://u:***@es:9200"
    assert mask_url("https://es.example:9200/") == "https://es.example:9200/"
    assert mask_url("sqlite:///411.db") == "sqlite:///411.db"


def test_it_shows_no_character_of_a_secret_but_a_slack_token_kind() -> None:
    assert mask_secret("0123456789abcdef0123456789abcdef") == "*** (32 chars)"
    assert mask_secret("xoxb-1234-5678-abcdef") == "xoxb-*** (21 chars)"
    assert mask_secret("xapp-1-A111-222-ccc") == "xapp-*** (19 chars)"
    assert mask_secret("xoxp-personal") == "*** (13 chars)"
    assert mask_secret(None) == "(not set)"


def test_a_shown_sql_definition_hides_the_database_password() -> None:
    defn = parse_definition(SQL_WITH_PASSWORD)
    shown = redacted_definition_dict(defn)
    assert shown["source_config"]["url"] == "postgresql+psycopg://reader:***@db.example/app"
    assert "S3cretPw" not in dump_definition(defn, redact=True)
    assert "S3cretPw" in dump_definition(defn)  # exports keep the operator's real value
    assert defn.source_config["url"].endswith("S3cretPw@db.example/app")  # not modified


def test_a_shown_http_definition_hides_auth_headers_and_url_credentials() -> None:
    shown = redacted_definition_dict(parse_definition(HTTP_WITH_TOKEN), compact=True)
    config = shown["source_config"]
    assert config["headers"] == {
        "Authorization": "***",
        "Cookie": "***",
        "X-Api-Key": "***",
        "Accept": "application/json",
    }
    assert config["headers_env"] == {"X-Token": "STATUS_TOKEN"}  # names, not secrets
    assert config["url"] == "https://user:***@status.example.com/api?api_key=***&page=2"


def test_an_export_warns_about_each_plain_secret_and_names_the_way_out() -> None:
    warnings = secret_warnings(parse_definition(SQL_WITH_PASSWORD))
    assert warnings == [
        "search 'failed logins': source_config.url holds a secret in plain text; consider url_env"
    ]
    http_warnings = secret_warnings(parse_definition(HTTP_WITH_TOKEN))
    assert len(http_warnings) == 4 and all("headers_env" in w for w in http_warnings)
    clean = {**SQL_WITH_PASSWORD, "source_config": {"url_env": "APP_DB", "query": "SELECT 1"}}
    assert secret_warnings(parse_definition(clean)) == []


def test_it_masks_nested_secret_keys_but_keeps_env_names() -> None:
    raw = {"auth": {"password": "p", "user": "u"}, "list": ["http://a:b@h/"], "token_env": "T"}
    assert redact_config(raw) == {
        "auth": {"password": "***", "user": "u"},
        "list": ["http://a:***@h/"],
        "token_env": "T",
    }
