"""Every digest figure against the hand-computed answers of the world in conftest.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.digest.figures import DigestFigures, compute_figures
from bot.models import Priority
from tests.digest.conftest import NOISY_NAME, NOW, World, add_search, hours

P = Priority


@pytest.fixture
def figures(session: Session, world: World) -> DigestFigures:
    return compute_figures(session, NOW - timedelta(days=1), NOW, now=NOW)


def counts(low: int = 0, medium: int = 0, high: int = 0, critical: int = 0) -> dict[P, int]:
    return {P.LOW: low, P.MEDIUM: medium, P.HIGH: high, P.CRITICAL: critical}


def test_it_counts_new_alerts_by_priority_in_both_periods(figures: DigestFigures) -> None:
    assert dict(figures.current.new.counts) == counts(low=1, medium=2, high=1, critical=1)
    assert dict(figures.previous.new.counts) == counts(low=1, high=2)


def test_it_counts_acknowledged_alerts_by_priority(figures: DigestFigures) -> None:
    assert dict(figures.current.acknowledged.counts) == counts(low=1, high=2, critical=1)
    assert dict(figures.previous.acknowledged.counts) == counts(low=1, high=1)


def test_it_counts_resolved_alerts_by_priority(figures: DigestFigures) -> None:
    assert dict(figures.current.resolved.counts) == counts(low=2, medium=1, high=2)
    assert dict(figures.previous.resolved.counts) == counts(high=1)


def test_it_counts_alerts_still_open_at_the_end_of_each_period(figures: DigestFigures) -> None:
    assert dict(figures.current.open_at_end.counts) == counts(low=1, medium=1, high=1, critical=1)
    # At NOW-24h: b2 (resolved later), b3, c1, c3 (resolved later) were open.
    assert dict(figures.previous.open_at_end.counts) == counts(low=2, high=2)


def test_it_averages_the_time_to_acknowledge(figures: DigestFigures) -> None:
    # a1 1h, a2 30m, a3 1h, c3 71h
    assert figures.current.mean_ack_seconds == pytest.approx((3600 + 1800 + 3600 + 255600) / 4)
    assert figures.previous.mean_ack_seconds == pytest.approx((3600 + 7200) / 2)


def test_it_averages_the_time_to_resolve(figures: DigestFigures) -> None:
    # a1 2h, a2 2h, a5 30m, b2 8h, c3 71h
    expected = (7200 + 7200 + 1800 + 28800 + 255600) / 5
    assert figures.current.mean_resolve_seconds == pytest.approx(expected)
    assert figures.previous.mean_resolve_seconds == pytest.approx(36000)


def test_it_ranks_the_noisiest_searches_with_the_previous_period(
    figures: DigestFigures, world: World
) -> None:
    ranked = [
        (n.search_id, n.name, n.alerts, n.occurrences, n.previous_alerts) for n in figures.noisiest
    ]
    assert ranked == [
        (world.noisy, NOISY_NAME, 4, 6, 1),
        (world.quiet, "quiet-one", 1, 5, 1),
    ]


def test_it_names_searches_often_resolved_as_not_an_issue(
    figures: DigestFigures, world: World
) -> None:
    assert [(t.search_id, t.not_an_issue, t.resolved) for t in figures.tuning] == [
        (world.noisy, 4, 5)
    ]
    assert figures.tuning[0].share == pytest.approx(0.8)


def test_it_lists_searches_that_failed_with_their_last_error(
    figures: DigestFigures, world: World
) -> None:
    assert [(f.search_id, f.failures, f.last_error) for f in figures.failed] == [
        (world.quiet, 2, "timeout")
    ]
    assert figures.failed[0].last_failed_at == hours(-2)
    assert (figures.current.failed_runs, figures.previous.failed_runs) == (2, 1)


def test_it_lists_the_oldest_unassigned_open_alerts_first(
    figures: DigestFigures, world: World
) -> None:
    waiting = figures.waiting
    assert [w.alert_id for w in waiting] == [world.alerts[k] for k in ("c1", "b3", "a4")]
    assert [w.restricted for w in waiting] == [False, True, False]
    assert (waiting[0].channel, waiting[0].message_ts) == ("C_ALERTS", "1764040000.000200")
    assert waiting[0].created_at == hours(-100)


def test_it_ranks_people_who_resolved_most_leaving_out_the_system(
    figures: DigestFigures,
) -> None:
    assert [(r.user_id, r.resolved) for r in figures.resolvers] == [
        ("U_ALICE", 2),
        ("U_BOB", 1),
        ("U_CAROL", 1),
    ]


def test_it_computes_a_weekly_period_against_the_week_before(
    session: Session, world: World
) -> None:
    weekly = compute_figures(session, NOW - timedelta(days=7), NOW, now=NOW)
    assert weekly.current.new.total == 11  # every alert is from the last 7 days
    assert weekly.previous.new.total == 0
    assert weekly.current.resolved.total == 7
    assert weekly.current.open_at_end.total == 4
    assert weekly.previous.open_at_end.total == 0


def test_it_computes_a_period_in_the_past_from_later_data(session: Session, world: World) -> None:
    # [-48h, -24h) seen from NOW: alerts created and resolved after the period's end
    # must not change its figures.
    past = compute_figures(session, NOW - timedelta(days=2), NOW - timedelta(days=1), now=NOW)
    assert dict(past.current.new.counts) == counts(low=1, high=2)
    assert dict(past.current.open_at_end.counts) == counts(low=2, high=2)
    # At NOW-48h: c1 and c3 open (c2 resolved at -60h).
    assert dict(past.previous.open_at_end.counts) == counts(low=1, high=1)


def test_it_calls_a_period_without_activity_quiet(session: Session) -> None:
    add_search(session, "idle")
    session.commit()
    figures = compute_figures(session, NOW - timedelta(days=1), NOW, now=NOW)
    assert figures.quiet
    assert figures.current.mean_ack_seconds is None
    assert figures.noisiest == figures.tuning == figures.failed == figures.resolvers == []


def test_it_is_not_quiet_when_only_a_search_failed(session: Session, world: World) -> None:
    # Nothing happened to alerts between -2.5h and -1.5h, but a run timed out at -2h.
    figures = compute_figures(session, hours(-2.5), hours(-1.5), now=NOW)
    assert figures.current.new.total == figures.current.resolved.total == 0
    assert not figures.quiet


def test_it_refuses_an_empty_period() -> None:
    with pytest.raises(ValueError, match="must end after"):
        compute_figures(Session(), NOW, NOW, now=NOW)  # refused before any query
