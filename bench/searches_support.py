"""Shared set-up of the searches benchmarks: services, databases, an index of log documents."""

from __future__ import annotations

import os
import random
import resource
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import create_engine, make_url, pool, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.config import ClusterConfig, Settings  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.runtime import Runtime  # noqa: E402

USERS = [f"user{n:03d}" for n in range(200)]
HOSTS = [f"web{n:02d}" for n in range(30)]
EVENTS = ["ssh", "sudo", "login", "logout", "scp"]


def service_url(name: str) -> str:
    value = os.environ.get(name)
    env_file = REPO / ".services" / "env"
    if not value and env_file.exists():
        for line in env_file.read_text().splitlines():
            key, _, found = line.removeprefix("export ").partition("=")
            if key.strip() == name:
                value = found.strip()
    if not value:
        sys.exit(f"{name} is not set: run `scripts/services start` first")
    return value


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database at head: a temporary SQLite file, or a throw-away Postgres database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            yield url
        return
    server = make_url(service_url("TEST_DATABASE_URL"))
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_runtime(db_url: str, es_url: str, **settings: object) -> Runtime:
    clusters = {"default": ClusterConfig(name="default", url=es_url)}
    config = Settings(database_url=db_url, clusters=clusters, **settings)  # type: ignore[arg-type]
    engine = (
        make_engine(db_url, pool_size=20, max_overflow=10)
        if db_url.startswith("postgres")
        else make_engine(db_url)
    )
    return Runtime(settings=config, engine=engine)


def es_client(es_url: str) -> Elasticsearch:
    client = Elasticsearch(es_url, request_timeout=60)
    client.cluster.health(wait_for_status="yellow", timeout="60s")
    return client


def index_logs(
    es: Elasticsearch,
    index: str,
    start: datetime,
    end: datetime,
    count: int,
    users: Sequence[str] = USERS,
) -> None:
    """``count`` log documents evenly spread over [start, end)."""
    es.indices.create(
        index=index,
        mappings={
            "properties": {
                "@timestamp": {"type": "date"},
                "user": {"type": "keyword"},
                "host": {"type": "keyword"},
                "event": {"type": "keyword"},
                "ip": {"type": "keyword"},
            }
        },
        settings={"number_of_shards": 1, "number_of_replicas": 0},
    )
    rng = random.Random(411)
    step = (end - start) / count
    actions = (
        {
            "_index": index,
            "_source": {
                "@timestamp": (start + i * step).isoformat(),
                "user": users[i % len(users)],
                "host": rng.choice(HOSTS),
                "event": rng.choice(EVENTS),
                "ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            },
        }
        for i in range(count)
    )
    helpers.bulk(es, actions, chunk_size=5000, refresh="wait_for")


def rss_mb() -> float:
    """The current resident set size (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return (
        f"median {statistics.median(values):7.2f}  p95 {percentile(values, 95):7.2f}  "
        f"p99 {percentile(values, 99):7.2f}  max {max(values):7.2f}"
    )


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
