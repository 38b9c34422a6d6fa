"""A scrape of the worker's /metrics shows each metric move when the thing it counts happens;
/livez and /readyz; `411 status` and `411 deliveries resend`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from bot.cli import main
from bot.definitions.search import parse_definition
from bot.definitions.store import create_search
from bot.deliveries.loop import DeliveryLoop
from bot.models import Delivery, DeliveryStatus, SearchRun, utcnow
from bot.ops.server import OpsServer
from bot.ops.status import read_status
from bot.runs.claims import claim_runs, create_due_run
from bot.runs.worker import Worker
from bot.runtime import Runtime
from bot.text.refs import Ref
from standin import SlackStandIn
from standin.faults import ALL, Fault, FaultMode
from tests.slack.conftest import add_alert, add_search, drain, serve_bot

Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Sample:
    with urllib.request.urlopen(f"{url}/metrics") as answer:
        text = answer.read().decode()
    found: Sample = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(sample: Sample, name: str, **labels: str) -> float:
    return sample.get((name, tuple(sorted(labels.items()))), 0.0)


def total(sample: Sample, name: str, **labels: str) -> float:
    """Sum over the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in sample.items() if n == name and wanted <= set(ls))


@pytest.fixture
def ops(runtime: Runtime) -> Iterator[str]:
    server = OpsServer(runtime, 0, alive=lambda: True, host="127.0.0.1")
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def _file_search(runtime: Runtime, name: str, path: Path) -> int:
    raw = {
        "name": name,
        "source": "file",
        "source_config": {"path": str(path), "query": "*", "id_field": "id"},
        "schedule": "every 10m",
        "channel": "C_ALERTS",
        "owner": "U_ALICE",
        "priority": "high",
        "lookback": "1h",
    }
    with runtime.sessions.begin() as session:
        return create_search(session, parse_definition(raw), "U_ALICE").id


def _run_through_worker(worker: Worker, search_id: int) -> None:
    """A due run (ten seconds late), claimed and executed the way the worker does it."""
    with worker.runtime.sessions.begin() as session:
        create_due_run(session, search_id, utcnow() - timedelta(seconds=10))
        (claim,) = claim_runs(session, worker.name, utcnow(), 1)
    worker._execute(claim)


def test_each_metric_moves_when_its_thing_happens(
    runtime: Runtime, standin: SlackStandIn, ops: str, tmp_path: Path
) -> None:
    logs = tmp_path / "events.ndjson"
    stamp = utcnow().isoformat().replace("+00:00", "Z")
    logs.write_text(
        "".join(json.dumps({"@timestamp": stamp, "id": f"e{i}"}) + "\n" for i in range(3))
    )
    good = _file_search(runtime, "metrics-good", logs)
    broken = _file_search(runtime, "metrics-broken", tmp_path / "missing.ndjson")
    worker = Worker(runtime, schedule=True)
    loop = DeliveryLoop(runtime, base_backoff=0.01, max_backoff=0.01, posts_per_second=50)
    before = scrape(ops)

    # Runs, their durations, lateness; alerts by state and priority; the backlog.
    _run_through_worker(worker, good)
    _run_through_worker(worker, broken)
    after_runs = scrape(ops)
    for name, labels in [
        ("four11_runs_total", {"search": "metrics-good", "status": "succeeded"}),
        ("four11_runs_total", {"search": "metrics-broken", "status": "failed"}),
        ("four11_run_duration_seconds_count", {}),
        ("four11_source_duration_seconds_count", {}),
        ("four11_schedule_lateness_seconds_count", {}),
        ("four11_source_errors_total", {"kind": "transient"}),
    ]:
        both = name.endswith("_count")  # histograms without a search label: both runs
        assert total(after_runs, name, **labels) - total(before, name, **labels) == (
            2 if both else 1
        ), name
    assert (
        total(after_runs, "four11_schedule_lateness_seconds_sum")
        - total(before, "four11_schedule_lateness_seconds_sum")
        >= 19
    )  # two runs, each ten seconds late
    assert read_status(runtime).alerts[("new", "high")] == 3
    assert value(after_runs, "four11_alerts", state="new", priority="high") == 3
    assert value(after_runs, "four11_deliveries", state="pending") == 3
    assert value(after_runs, "four11_delivery_oldest_pending_age_seconds") >= 0

    # Slack down: calls by method and status, retrying deliveries, the oldest's age.
    standin.faults.set(ALL, Fault(FaultMode.ERROR))
    loop.run_once()
    down = scrape(ops)
    assert (
        total(down, "four11_slack_api_calls_total", method="chat.postMessage", status="http_500")
        - total(
            before, "four11_slack_api_calls_total", method="chat.postMessage", status="http_500"
        )
        >= 1
    )
    assert value(down, "four11_deliveries", state="retrying") >= 1
    time.sleep(1.1)
    assert value(scrape(ops), "four11_delivery_oldest_pending_age_seconds") >= 1

    # 429s are counted apart (here on the look-up that precedes the re-send: the 500s left
    # the posts' outcome unknown).
    standin.faults.set(ALL, Fault(FaultMode.RATE_LIMITED, retry_after=1))
    _due_now(runtime)
    loop.run_once()
    limited = scrape(ops)
    assert total(limited, "four11_slack_rate_limited_total") > total(
        before, "four11_slack_rate_limited_total"
    )

    # Slack back: ok calls, the backlog empties.
    standin.faults.clear()
    time.sleep(1.1)  # the Retry-After
    _due_now(runtime)
    drain(loop)
    up = scrape(ops)
    assert (
        total(up, "four11_slack_api_calls_total", method="chat.postMessage", status="ok")
        - total(before, "four11_slack_api_calls_total", method="chat.postMessage", status="ok")
        >= 3
    )
    assert (
        value(up, "four11_deliveries", state="pending")
        + value(up, "four11_deliveries", state="retrying")
        == 0
    )

    # Given up (past the horizon, Slack refusing): counted; the lease holder; live workers.
    _given_up_row(runtime)
    worker.lease.try_acquire()
    worker._publish_lease()
    worker.heartbeat.beat()
    final = scrape(ops)
    assert value(final, "four11_deliveries", state="given_up") == 1
    assert value(final, "four11_scheduler_lease_held", worker=worker.name) == 1
    # The lease holder's heartbeat says so: `411 status` names it as the scheduler.
    assert value(final, "four11_workers_alive", role="scheduler") == 1
    worker.lease.release()


def _due_now(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING)
            .values(next_attempt_at=utcnow())
        )


def _given_up_row(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        row = session.scalar(select(Delivery).where(Delivery.status == DeliveryStatus.SENT))
        assert row is not None
        row.status = DeliveryStatus.FAILED
        row.last_error = "gave up after 9 attempts in 24.0h: Slack error: internal_error"


def test_a_killed_worker_run_counts_as_taken_back(runtime: Runtime, ops: str) -> None:
    """four11_reclaimed_total{what="run"}: a run left RUNNING by a worker on another host
    whose heartbeat went silent is taken back by a confident worker."""
    from bot.models import RunStatus, WorkerHeartbeat

    search_id = _file_search(runtime, "metrics-orphan", Path("/dev/null"))
    with runtime.sessions.begin() as session:
        session.add(
            WorkerHeartbeat(
                name="elsewhere:4242:runs-dead",
                role="runs",
                host="elsewhere",
                pid=4242,
                started_at=utcnow() - timedelta(minutes=5),
                beat_at=utcnow() - timedelta(minutes=1),
            )
        )
        session.add(
            SearchRun(
                search_id=search_id,
                scheduled_for=utcnow(),
                status=RunStatus.RUNNING,
                started_at=utcnow(),
                worker="elsewhere:4242:runs-dead",
            )
        )
    before = scrape(ops)
    worker = Worker(runtime)
    worker.heartbeat.dead_after = 0.2  # confident sooner (the rule: beaten for dead_after)
    worker.heartbeat.beat()
    time.sleep(0.3)
    worker.heartbeat.beat()
    worker.heartbeat.takeback()
    with runtime.sessions() as session:
        run = session.scalar(select(SearchRun).where(SearchRun.search_id == search_id))
        assert run is not None and run.status == RunStatus.PENDING and run.worker is None
    after = scrape(ops)
    assert (
        value(after, "four11_reclaimed_total", what="run")
        - value(before, "four11_reclaimed_total", what="run")
        == 1
    )


def test_readiness_fails_on_an_old_backlog_and_liveness_follows_the_loops(
    runtime: Runtime, tmp_path: Path
) -> None:
    alive = {"ok": True}
    server = OpsServer(runtime, 0, alive=lambda: alive["ok"], host="127.0.0.1")
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        assert _status(f"{url}/readyz") == 200 and _status(f"{url}/livez") == 200
        search_id = _file_search(runtime, "metrics-ready", Path("/dev/null"))
        add_alert(runtime, search_id)  # its post is pending
        with runtime.sessions.begin() as session:
            session.execute(update(Delivery).values(created_at=utcnow() - timedelta(hours=1)))
        assert _status(f"{url}/readyz") == 503  # older than READY_MAX_BACKLOG_AGE (15 min)
        alive["ok"] = False
        assert _status(f"{url}/livez") == 503
    finally:
        server.stop()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_status_lists_given_up_posts_and_resend_sends_them_once(
    runtime: Runtime,
    standin: SlackStandIn,
    loop: DeliveryLoop,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alert_id = add_alert(runtime, add_search(runtime))
    with runtime.sessions.begin() as session:
        row = session.scalar(select(Delivery).where(Delivery.alert_id == alert_id))
        assert row is not None
        row.status = DeliveryStatus.FAILED
        row.attempts = 40
        row.last_error = "gave up after 40 attempts in 24.0h: Slack error: internal_error"
        delivery_id = row.id
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("SLACK_API_URL", runtime.settings.slack_api_url)
    assert main(["status"]) == 0
    shown = capsys.readouterr().out
    assert f"#{delivery_id} post to C_ALERTS alert {Ref.ALERT(alert_id)}, 40 attempts" in shown
    assert "given up 1" in shown
    assert main(["deliveries", "resend"]) == 2  # names nothing: refused, nothing changed
    assert main(["deliveries", "resend", "--all"]) == 0
    assert "1 deliveries will be sent again" in capsys.readouterr().out
    drain(loop)
    drain(loop)
    assert len(standin.messages("C_ALERTS")) == 1
    with runtime.sessions() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and row.status == DeliveryStatus.SENT and row.retry_since is not None


def test_serve_exposes_metrics_counting_the_slack_calls_of_the_app(
    runtime: Runtime, standin: SlackStandIn, ops: str
) -> None:
    """`411 serve`: /metrics beside /slack/events; the Bolt app's own Slack calls counted."""
    before = scrape(ops)  # this process's counters, before the app starts
    bot = serve_bot(runtime, standin)  # build_app calls auth.test through the counted client
    try:
        after = scrape(bot.url.removesuffix("/slack/events"))
        name = "four11_slack_api_calls_total"
        assert total(after, name, method="auth.test", status="ok") > total(
            before, name, method="auth.test", status="ok"
        )
        assert ("four11_deliveries", (("state", "pending"),)) in after  # the shared gauges too
    finally:
        bot.stop()
