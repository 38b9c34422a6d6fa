"""Templates with a work budget (bot/text/template_budget.py), on SQLite and Postgres.

The hostile templates of issue 12 are refused when saved, with an error on the template
field; one that only the data makes heavy passes the save and is cut short at run time,
while the worker goes on serving other runs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.definitions.search import DefinitionError
from bot.errors import InvalidInput
from bot.models import Alert, AlertAction, AlertEvent, RunStatus, SearchRun
from bot.runs.claims import create_due_run
from bot.runs.worker import Worker
from bot.runtime import Runtime
from bot.text.template_budget import MAX_OUTPUT, MAX_SECONDS
from bot.text.templates import render_template, run_deadline
from searches.base import Hit
from tests.memory_source import MemorySource
from tests.runs.test_worker import wait_until

NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(1500) %}x{% endfor %}{% endfor %}"
HUGE_STRING = "{{ 'x' * 10**9 }}"
HUGE_PADDING = "{{ user|center(999999999) }}"
# Passes the save (nothing in it is large), but the data makes it heavy.
DATA_LOOPS = "{% for a in message %}{% for b in message %}{% endfor %}{% endfor %}"
DATA_OUTPUT = "{% for a in message %}{% for b in message %}{{ a }}{{ b }}{% endfor %}{% endfor %}"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        (NESTED_LOOPS, "range() may count at most 1000 steps"),
        (HUGE_STRING, "`**` is not allowed"),
        ("{{ 'x' * count }}", "repeated at most 100 times"),
        (HUGE_PADDING, "at most 2500"),
        (
            "{% for a in x %}{% for b in x %}{% for c in x %}{% endfor %}{% endfor %}{% endfor %}",
            "nest at most 2 deep",
        ),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "macros are not allowed"),
        ("{{ '%0999999d' % 1 }}", "format widths"),
    ],
)
def test_hostile_templates_are_refused_when_saved_with_an_error_on_the_field(
    make_search, dataset, template: str, reason: str
) -> None:
    for field in ("title_template", "body_template"):
        with pytest.raises(DefinitionError) as refused:
            make_search(dataset[0], **{field: template})
        [error] = refused.value.errors
        assert error.field == field
        assert reason in error.message


def _hit(message: str) -> Hit:
    stamp = datetime.now(UTC) - timedelta(seconds=30)
    return Hit(id=f"h{len(message)}", timestamp=stamp, fields={"message": message, "user": "bob"})


@pytest.mark.parametrize("template", [DATA_LOOPS, DATA_OUTPUT])
def test_a_render_is_bounded_in_time_and_size(template: str) -> None:
    message = "y" * 20_000  # 400 million steps if nothing stopped them
    started = time.thread_time()  # what the render takes from a worker's core
    try:
        output = render_template(template, {"message": message})
    except InvalidInput as exc:
        output = ""
        assert "took longer than 50 ms" in exc.message
    elapsed = time.thread_time() - started
    assert elapsed < 0.1, f"{elapsed * 1000:.0f} ms of CPU"
    assert len(output.encode()) < 10_000 and len(output) <= MAX_OUTPUT


def test_the_runs_deadline_bounds_its_renders_too() -> None:
    # The search's time is used up: no render starts any work.
    with run_deadline(0.0), pytest.raises(InvalidInput, match="ran out of the search's time"):
        render_template("{% for i in range(10) %}{{ i }}{% endfor %}", {})
    assert render_template("{{ 1 + 1 }}", {}) == "2"  # outside the run: its own budget


def test_a_heavy_template_does_not_hold_the_worker_from_other_runs(
    runtime: Runtime, make_search
) -> None:
    heavy_data, plain_data = (MemorySource.dataset(f"budget-{n}") for n in ("heavy", "plain"))
    heavy_data.hits = [_hit("y" * 20_000)]
    plain_data.hits = [_hit("hello")]
    heavy = make_search(
        "budget-heavy", title_template=DATA_LOOPS.replace("message", "fields.message")
    )
    plain = make_search("budget-plain", title_template="{{ user }} said {{ message }}")
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        create_due_run(session, heavy, now - timedelta(seconds=2))
        create_due_run(session, plain, now - timedelta(seconds=1))
    worker = Worker(runtime, threads=1, poll_interval=0.05, schedule=False, name="budget")
    started = time.perf_counter()
    worker.start()
    try:
        assert wait_until(lambda: len(worker.executed) >= 2, timeout=10)
    finally:
        worker.stop()
    assert time.perf_counter() - started < 5  # one thread ran both, the heavy one first
    with runtime.sessions() as session:
        runs = {r.search_id: r for r in session.scalars(select(SearchRun))}
        assert runs[heavy].status == runs[plain].status == RunStatus.SUCCEEDED
        heavy_ms = (runs[heavy].finished_at - runs[heavy].started_at).total_seconds() * 1000
        assert heavy_ms < 2000
        titles = {a.search_id: a.title for a in session.scalars(select(Alert))}
        assert titles[plain] == "bob said hello"
        created = session.scalar(
            select(AlertEvent)
            .join(Alert)
            .where(Alert.search_id == heavy, AlertEvent.action == AlertAction.CREATED)
        )
        assert created is not None
        assert f"took longer than {int(MAX_SECONDS * 1000)} ms" in created.detail["template_error"]
