"""Documents on both sides of a window's edges, loaded into a search server and into a file.

The search server is ``search_server``: Elasticsearch 9.x, then OpenSearch 3.x, so
every test of the Elasticsearch source that uses these fixtures runs on both.

The window is [10:00, 11:00) on 2026-03-01. Documents sit exactly on the start
(inside), one millisecond before the end (inside), exactly on the end (outside) and
one millisecond before the start (outside), plus ordinary ones inside and outside.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ClusterConfig, Settings
from searches.base import SourceContext, TimeWindow
from tests.search_servers import SearchServer

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
WINDOW = TimeWindow(START, END)
MS = timedelta(milliseconds=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _doc(doc_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"id": doc_id, "@timestamp": _iso(at), **fields}


def sample_documents() -> list[dict[str, Any]]:
    minute = timedelta(minutes=1)
    return [
        _doc("before-start", START - MS, user="alice", status=200, msg="Accepted password"),
        _doc("on-start", START, user="alice", status=200, msg="Accepted password for alice",
             host="web1", src={"ip": "10.0.0.1", "port": 22}, tags=["ssh", "login"], bytes=120),
        _doc("mid-1", START + 5 * minute, user="Bob", status=500, msg="Failed password for root",
             host="web2", src={"ip": "10.0.0.2"}, tags=["ssh"], bytes=4500,
             error={"code": "E42", "text": "timeout talking to db"}),
        _doc("mid-2", START + 10 * minute, user="alice", status=404, msg="GET /admin/login.php",
             host="web1", tags=["http"], bytes=150),
        _doc("mid-3", START + 20 * minute, user="carol smith", status=503,
             msg="Failed password for invalid user admin", host="db1",
             src={"ip": "192.168.1.9"}, bytes=99),
        _doc("mid-4", START + 30 * minute, user="Bob", status=500, msg="Connection timeout",
             host="web2", error={"code": "E7"}, bytes=200),
        _doc("last-ms", END - MS, user="dave", status=201, msg="Created user dave",
             host="web3", tags=["admin"], bytes=0),
        _doc("on-end", END, user="alice", status=500, msg="Failed password", host="web1"),
        _doc("after-end", END + minute, user="bob", status=200, msg="Accepted password"),
    ]  # fmt: skip


INSIDE = ["on-start", "mid-1", "mid-2", "mid-3", "mid-4", "last-ms"]


@pytest.fixture
def documents() -> list[dict[str, Any]]:
    return sample_documents()


@pytest.fixture(scope="module")
def loaded_index(search_server: SearchServer) -> Iterator[str]:
    """An index holding the sample documents (dynamic mapping, as users' logs get).

    Module-scoped: the tests only read it, and indexing per test costs a second each.
    """
    name = f"test-a1-{uuid.uuid4().hex[:12]}"
    search_server.index_documents(name, sample_documents())
    yield name
    search_server.delete_indices(name)


@pytest.fixture
def log_file(tmp_path: Path, documents: list[dict[str, Any]]) -> Path:
    path = tmp_path / "app.log"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return path


@pytest.fixture
def es_settings(search_server: SearchServer) -> Settings:
    """Two names for the test server (its product told by the source itself, and
    configured) and one cluster that cannot be reached."""
    return Settings(
        clusters={
            "default": search_server.cluster("default"),
            "logs": search_server.cluster("logs", product=search_server.product),
            "down": ClusterConfig(name="down", url="http://127.0.0.1:9"),
        }
    )


@pytest.fixture
def es_context(es_settings: Settings) -> Iterator[SourceContext]:
    yield SourceContext(search_id=1, search_name="ssh failures", settings=es_settings)
