"""The test ground is real: a PostgreSQL server, Elasticsearch 9 and 8 servers, an OpenSearch
server, fresh databases."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch, helpers
from sqlalchemy import Engine, inspect, text

from bot.migrate import current_revision, head_revision
from tests.search_servers import SearchServer


def test_it_talks_to_a_real_postgresql_server(pg_engine: Engine) -> None:
    with pg_engine.connect() as connection:
        version = connection.execute(text("SELECT version()")).scalar_one()
        database = connection.execute(text("SELECT current_database()")).scalar_one()
    assert version.startswith("PostgreSQL ")
    assert database.startswith("t_")


def test_it_gives_each_test_a_database_at_the_newest_schema(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert "alembic_version" in inspect(engine).get_table_names()


@pytest.mark.parametrize("round_", [1, 2])
def test_it_gives_each_test_its_own_database(engine: Engine, round_: int) -> None:
    # Runs twice per database kind: if the second round saw the first round's
    # table, tests would be sharing a database.
    assert "made_by_a_test" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE made_by_a_test (round INTEGER)"))
        connection.execute(text("INSERT INTO made_by_a_test VALUES (:round)"), {"round": round_})
    with engine.connect() as connection:
        assert connection.execute(text("SELECT round FROM made_by_a_test")).all() == [(round_,)]


def test_it_gives_an_empty_database_for_migration_tests(empty_db_url: str) -> None:
    from bot.db import make_engine

    engine = make_engine(empty_db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_it_indexes_and_queries_a_real_elasticsearch(es: Elasticsearch, es_index: str) -> None:
    es.indices.create(
        index=es_index,
        mappings={
            "properties": {
                "@timestamp": {"type": "date"},
                "message": {"type": "text"},
                "host": {"type": "keyword"},
            }
        },
    )
    documents = [
        ("1", "2026-11-29T10:00:00Z", "failed password for root", "web-1"),
        ("2", "2026-11-29T10:05:00Z", "failed password for admin", "web-2"),
        ("3", "2026-11-29T10:30:00Z", "accepted password for alice", "web-1"),
        ("4", "2026-11-28T09:00:00Z", "failed password for bob", "web-3"),
    ]
    actions = [
        {
            "_index": es_index,
            "_id": doc_id,
            "_source": {"@timestamp": when, "message": message, "host": host},
        }
        for doc_id, when, message, host in documents
    ]
    indexed, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert (indexed, errors) == (4, [])

    response = es.search(
        index=es_index,
        query={
            "bool": {
                "must": [{"query_string": {"query": "message:failed AND NOT host:web-2"}}],
                "filter": [
                    {
                        "range": {
                            "@timestamp": {
                                "gte": "2026-11-29T10:30:00Z||-1h",
                                "lt": "2026-11-29T11:00:00Z",
                            }
                        }
                    }
                ],
            }
        },
    )
    hits = response["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["1"]
    assert hits[0]["_source"]["message"] == "failed password for root"
    assert es.count(index=es_index, query={"query_string": {"query": "failed"}})["count"] == 3


def _node_versions(client: Elasticsearch) -> set[str]:
    # `GET /` is absent on the test servers (no rest-root module); the nodes API has the version.
    return {node["version"] for node in client.nodes.info(metric="jvm")["nodes"].values()}


def test_it_runs_the_newest_served_elasticsearch_9_for_the_suite(es: Elasticsearch) -> None:
    assert _node_versions(es) == {"9.5.4"}


def test_it_runs_the_newest_elasticsearch_8_for_the_compatibility_subset(
    es8: Elasticsearch,
) -> None:
    assert _node_versions(es8) == {"8.19.21"}


def test_it_runs_opensearch_3_for_the_elasticsearch_sources_tests(
    opensearch_server: SearchServer,
) -> None:
    assert opensearch_server.node_versions() == {"3.6.0"}
    root = opensearch_server.client.info()  # OpenSearch has `GET /`: what tells it apart
    assert root["version"]["distribution"] == "opensearch"


def test_each_search_server_indexes_and_counts(
    search_server: SearchServer, search_index: str
) -> None:
    search_server.create_index(search_index, {"properties": {"host": {"type": "keyword"}}})
    actions = [
        {"_index": search_index, "_id": str(i), "_source": {"host": f"web{i}"}} for i in range(3)
    ]
    assert search_server.bulk(actions) == (3, [])
    assert search_server.client.count(index=search_index)["count"] == 3
