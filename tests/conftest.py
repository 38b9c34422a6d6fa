"""Shared fixtures: a fresh database per test on SQLite and on Postgres, and search servers.

The servers are real: `scripts/services start` runs PostgreSQL, two
Elasticsearch servers and an OpenSearch server and writes their URLs to
`.services/env` (TEST_DATABASE_URL, TEST_ELASTICSEARCH_URL,
TEST_ELASTICSEARCH8_URL, TEST_OPENSEARCH_URL); `scripts/test` does all of it. A missing or unreachable server fails the tests
that need it; it never skips them.

Database fixtures:
- ``db_url``: a fresh database at the newest schema, once on SQLite and once on
  Postgres (tests read ``test_x[sqlite]`` and ``test_x[postgres]``).
- ``empty_db_url``: the same two, without any schema (for migration tests).
- ``engine`` / ``session``: an engine and an ORM session on ``db_url``.
- ``sqlite_engine``; ``pg_url`` / ``pg_engine``: one database kind only.

Elasticsearch fixtures:
- ``es_url`` / ``es`` / ``es_index``: the main server, the newest 9.x, which the
  whole suite runs against.
- ``es8_url`` / ``es8`` / ``es8_index``: the newest 8.x, for the compatibility subset.
- ``opensearch_url`` / ``opensearch``: OpenSearch 3.x.
- ``search_server`` / ``search_index``: Elasticsearch 9.x, then OpenSearch 3.x (tests
  read ``test_x[elasticsearch]`` and ``test_x[opensearch]``): what the Elasticsearch
  source's own tests run against (see tests/search_servers.py).

Each fresh database is cheap: the schema is migrated once per test session into a
template (a SQLite file that is copied; a Postgres ``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch
from sqlalchemy import Engine, create_engine, make_url, pool, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from searches.cluster_product import Product
from tests.search_servers import SearchServer

REPO = Path(__file__).resolve().parent.parent
SERVICES_ENV = REPO / ".services" / "env"
START_HINT = "start the test servers with `scripts/services start` (or run `scripts/test`)"
DB_KINDS = ["sqlite", "postgres"]


def in_ci() -> bool:
    """CI runs (.ci/run sets CI=true; other CIs set 1 or yes): nothing may be skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def service_url(name: str) -> str:
    """The URL from the environment, else from `.services/env`; fail if neither has it."""
    value = os.environ.get(name) or _from_services_env(name)
    if not value:
        pytest.fail(f"{name} is not set: {START_HINT}", pytrace=False)
    return value


def _from_services_env(name: str) -> str | None:
    if not SERVICES_ENV.exists():
        return None
    for line in SERVICES_ENV.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------- SQLite


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    from bot.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    # Fold the write-ahead log into the main file so a plain copy is complete.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _sqlite_url(request: pytest.FixtureRequest, tmp_path: Path, migrated: bool) -> str:
    path = tmp_path / "test.db"
    if migrated:
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


# ----------------------------------------------------------------- Postgres


class PostgresServer:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        self.template: str | None = None

    def check(self) -> None:
        try:
            with self.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            message = f"cannot reach Postgres at {self.url}: {reason}; {START_HINT}"
            pytest.fail(message, pytrace=False)

    def url_of(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def execute(self, sql: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(sql))

    def create(self, template: str | None = None) -> str:
        name = unique_name("t_")
        clause = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        return name

    def drop(self, name: str) -> None:
        # FORCE ends connections a test left open (a leaked pool must not block cleanup).
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def migrated_template(self) -> str:
        """A database migrated to head once per test session, to copy from."""
        if self.template is None:
            from bot.migrate import upgrade

            name = self.create()
            upgrade(self.url_of(name))
            # CREATE DATABASE ... TEMPLATE refuses while anyone is connected to it.
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
            self.template = name
        return self.template

    def close(self) -> None:
        if self.template is not None:
            self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer(service_url("TEST_DATABASE_URL"))
    server.check()
    yield server
    server.close()


def _pg_database(request: pytest.FixtureRequest, migrated: bool) -> Iterator[str]:
    server: PostgresServer = request.getfixturevalue("_pg_server")
    name = server.create(server.migrated_template() if migrated else None)
    yield server.url_of(name)
    server.drop(name)


# ---------------------------------------------------------- database fixtures


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the newest schema revision, on SQLite and on Postgres."""
    if request.param == "sqlite":
        yield _sqlite_url(request, tmp_path, migrated=True)
    else:
        yield from _pg_database(request, migrated=True)


@pytest.fixture(params=DB_KINDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables at all, on SQLite and on Postgres."""
    if request.param == "sqlite":
        yield _sqlite_url(request, tmp_path, migrated=False)
    else:
        yield from _pg_database(request, migrated=False)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh Postgres database at the newest schema (for Postgres-only behaviour)."""
    yield from _pg_database(request, migrated=True)


def _engine(url: str) -> Iterator[Engine]:
    from bot.db import make_engine

    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    yield from _engine(db_url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    from bot.db import session_factory

    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def sqlite_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(_sqlite_url(request, tmp_path, migrated=True))


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    yield from _engine(pg_url)


# ------------------------------------------------------------- Elasticsearch


def _es_client(url: str) -> Elasticsearch:
    client = Elasticsearch(url, request_timeout=30)
    try:
        # The test server has no `GET /` (rest-root); cluster health is the readiness check.
        client.cluster.health(wait_for_status="yellow", timeout="30s")
    except Exception as exc:
        client.close()
        message = f"cannot reach Elasticsearch at {url}: {exc}; {START_HINT}"
        pytest.fail(message, pytrace=False)
    return client


def _unique_index(client: Elasticsearch) -> Iterator[str]:
    name = unique_name("test-")
    yield name
    found = client.indices.get(index=f"{name}*", expand_wildcards="all", ignore_unavailable=True)
    if found:
        # Deleting by wildcard is refused by default (destructive_requires_name).
        client.indices.delete(index=",".join(found.body))


@pytest.fixture(scope="session")
def es_url() -> str:
    """The main server: the newest Elasticsearch 9.x."""
    return service_url("TEST_ELASTICSEARCH_URL")


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = _es_client(es_url)
    yield client
    client.close()


@pytest.fixture
def es_index(es: Elasticsearch) -> Iterator[str]:
    """A unique index name; it and any index whose name starts with it go at teardown."""
    yield from _unique_index(es)


@pytest.fixture(scope="session")
def es8_url() -> str:
    """The compatibility server: the newest Elasticsearch 8.x."""
    return service_url("TEST_ELASTICSEARCH8_URL")


@pytest.fixture(scope="session")
def es8(es8_url: str) -> Iterator[Elasticsearch]:
    client = _es_client(es8_url)
    yield client
    client.close()


@pytest.fixture
def es8_index(es8: Elasticsearch) -> Iterator[str]:
    """Like ``es_index``, on the 8.x server."""
    yield from _unique_index(es8)


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    """OpenSearch 3.x, which the Elasticsearch source's tests also run against."""
    return service_url("TEST_OPENSEARCH_URL")


@pytest.fixture(scope="session")
def opensearch(opensearch_url: str) -> Iterator[OpenSearch]:
    client = OpenSearch(opensearch_url, timeout=30)
    try:
        # The server waits 30 s by default (opensearch-py takes a `timeout` argument as
        # its own request timeout, so it is not passed).
        client.cluster.health(wait_for_status="yellow")
    except Exception as exc:
        client.close()
        message = f"cannot reach OpenSearch at {opensearch_url}: {exc}; {START_HINT}"
        pytest.fail(message, pytrace=False)
    yield client
    client.close()


SEARCH_SERVERS = {
    # product -> (client fixture, URL fixture, the version scripts/services runs)
    Product.ELASTICSEARCH: ("es", "es_url", "9.5.4"),
    Product.OPENSEARCH: ("opensearch", "opensearch_url", "3.6.0"),
}


@pytest.fixture(scope="session")
def opensearch_server(opensearch_url: str, opensearch: OpenSearch) -> SearchServer:
    """OpenSearch alone, loaded the way ``search_server`` is."""
    version = SEARCH_SERVERS[Product.OPENSEARCH][2]
    return SearchServer(
        product=Product.OPENSEARCH, version=version, url=opensearch_url, client=opensearch
    )


@pytest.fixture(scope="session", params=list(SEARCH_SERVERS), ids=str)
def search_server(request: pytest.FixtureRequest) -> SearchServer:
    """Each search product in turn, for the Elasticsearch source's tests."""
    product: Product = request.param
    client_fixture, url_fixture, version = SEARCH_SERVERS[product]
    return SearchServer(
        product=product,
        version=version,
        url=request.getfixturevalue(url_fixture),
        client=request.getfixturevalue(client_fixture),
    )


@pytest.fixture(scope="session")
def es8_server(es8_url: str, es8: Elasticsearch) -> SearchServer:
    """The 8.x compatibility server, loaded the way ``search_server`` is."""
    return SearchServer(product=Product.ELASTICSEARCH, version="8.19.21", url=es8_url, client=es8)


@pytest.fixture
def search_index(search_server: SearchServer) -> Iterator[str]:
    """A unique index name on ``search_server``; it and any index starting with it go at teardown."""
    name = unique_name("test-")
    yield name
    search_server.delete_indices(f"{name}*")


# ------------------------------------------------------------------- markers


def _uses_postgres(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    return "pg_url" in names or "postgres" in (params.get("db_url"), params.get("empty_db_url"))


def _uses_elasticsearch(item: pytest.Item) -> bool:
    servers = {"es", "es_url", "es8", "es8_url", "es8_server"} | {
        "opensearch",
        "opensearch_url",
        "opensearch_server",
        "search_server",
    }
    return bool(servers & set(getattr(item, "fixturenames", ())))


_MARKERS: dict[str, Callable[[pytest.Item], bool]] = {
    "postgres": _uses_postgres,
    "elasticsearch": _uses_elasticsearch,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the servers they use, so `-m "not elasticsearch"` works."""
    for item in items:
        for marker, applies in _MARKERS.items():
            if applies(item):
                item.add_marker(marker)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI a skipped test fails the run: a missing server or browser is a failure there.

    The server fixtures fail rather than skip everywhere; this also catches a skip
    anything else adds (a plug-in, a marker, a test of the future).
    """
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if in_ci() and skipped and exitstatus == pytest.ExitCode.OK:
        print(f"\nCI: {skipped} test(s) skipped; under CI every test must run")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
