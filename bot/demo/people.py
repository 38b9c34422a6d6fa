"""Who and what the demo's events are about: a small company's staff, hosts and networks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    name: str
    role: str  # engineering, sre, security are technical; the rest are not

    @property
    def technical(self) -> bool:
        return self.role in TECHNICAL_ROLES


TECHNICAL_ROLES = frozenset({"engineering", "sre", "security"})

STAFF = (
    Person("mchen", "engineering"),
    Person("priya.n", "engineering"),
    Person("tomas.k", "engineering"),
    Person("jdoe", "sre"),
    Person("aisha.b", "sre"),
    Person("sam.w", "security"),
    Person("lucy.m", "marketing"),
    Person("raj.p", "finance"),
    Person("olivia.s", "sales"),
    Person("ben.h", "hr"),
)

ENGINEERS = tuple(p for p in STAFF if p.technical)
NON_TECHNICAL = tuple(p for p in STAFF if not p.technical)

# Hosts and the environment each one belongs to.
HOSTS = {
    "prod-web-01": "production",
    "prod-web-02": "production",
    "prod-db-01": "production",
    "bastion-01": "production",
    "staging-app-01": "staging",
    "ci-runner-03": "ci",
}
PROD_HOSTS = tuple(h for h, env in HOSTS.items() if env == "production")
NON_PROD_HOSTS = tuple(h for h, env in HOSTS.items() if env != "production")

# Office and VPN addresses staff log in from.
OFFICE_IPS = tuple(f"10.20.{net}.{host}" for net in (1, 2) for host in range(10, 40))
# Addresses the public web sees; documentation ranges (RFC 5737), never real hosts.
VISITOR_IPS = tuple(
    f"{prefix}.{n}" for prefix in ("198.51.100", "203.0.113", "192.0.2") for n in range(1, 90)
)
# Where attacks come from in the demo (also documentation ranges).
ATTACKER_IPS = ("203.0.113.66", "198.51.100.23", "192.0.2.201", "203.0.113.250")
SCRAPER_IPS = ("198.51.100.77", "192.0.2.144", "203.0.113.9")

SCRAPER_AGENTS = (
    "python-requests/2.31.0",
    "Scrapy/2.11 (+https://scrapy.org)",
    "Go-http-client/1.1",
)
BROWSER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
)
WEB_PATHS = ("/", "/pricing", "/products", "/blog", "/login", "/cart", "/api/v1/search")
# Names attackers try in a password-guessing run.
GUESSED_NAMES = ("admin", "root", "test", "oracle", "jdoe", "support", "backup", "mchen")
