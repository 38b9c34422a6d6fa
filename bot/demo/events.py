"""One function per kind of security event the demo writes, shaped like ECS documents.

Every event has ``@timestamp`` (UTC, ISO 8601), ``event.type`` (login, ssh,
password_change, http_request), ``event.outcome`` and a readable ``message``; the rest
(user, source, host, http, url, user_agent) depends on the kind. Nested objects, as
Elasticsearch stores them, so the same Lucene queries work on the file and in ES.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.demo.people import HOSTS, Person

Event = dict[str, Any]

SSO_HOST = "sso-01"


def timestamp(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def login(at: float, user: str, role: str | None, ip: str, *, success: bool) -> Event:
    outcome = "success" if success else "failure"
    verb = "logged in" if success else "failed to log in"
    event: Event = {
        "@timestamp": timestamp(at),
        "event": {"type": "login", "category": "authentication", "outcome": outcome},
        "user": {"name": user},
        "source": {"ip": ip},
        "host": {"name": SSO_HOST},
        "labels": {"env": "production"},
        "message": f"User {user} {verb} from {ip}",
    }
    if role is not None:
        event["user"]["role"] = role
    if not success:
        event["event"]["reason"] = "bad password"
    return event


def ssh_session(at: float, person: Person, host: str, ip: str) -> Event:
    return {
        "@timestamp": timestamp(at),
        "event": {"type": "ssh", "category": "session", "outcome": "success"},
        "user": {"name": person.name, "role": person.role},
        "source": {"ip": ip},
        "host": {"name": host},
        "labels": {"env": HOSTS[host]},
        "process": {"name": "sshd"},
        "message": f"Accepted publickey for {person.name} from {ip} on {host}",
    }


def password_change(at: float, person: Person, ip: str) -> Event:
    return {
        "@timestamp": timestamp(at),
        "event": {"type": "password_change", "category": "iam", "outcome": "success"},
        "user": {"name": person.name, "role": person.role},
        "source": {"ip": ip},
        "host": {"name": SSO_HOST},
        "labels": {"env": "production"},
        "message": f"User {person.name} changed their password",
    }


def http_request(
    at: float, ip: str, path: str, agent: str, *, status: int = 200, size: int = 5120
) -> Event:
    return {
        "@timestamp": timestamp(at),
        "event": {
            "type": "http_request",
            "category": "web",
            "outcome": "success" if status < 400 else "failure",
        },
        "source": {"ip": ip},
        "host": {"name": "prod-web-01"},
        "labels": {"env": "production"},
        "http": {
            "request": {"method": "GET"},
            "response": {"status_code": status, "bytes": size},
        },
        "url": {"path": path},
        "user_agent": {"original": agent},
        "message": f'{ip} "GET {path}" {status} {size}',
    }
