"""The digest messages: short top post, details in the thread, escaped data, Slack's limits."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from bot.digest.figures import (
    ByPriority,
    DigestFigures,
    FailedSearch,
    NoisySearch,
    PeriodFigures,
    Resolver,
    TuningCandidate,
    WaitingAlert,
    compute_figures,
)
from bot.digest.render import RenderedDigest, SlackMessage, render_digest
from bot.messages.limits import check_message, iter_texts
from bot.models import DigestPeriod, Priority
from bot.text.links import permalink_base
from tests.digest.conftest import NOW, World, add_search

PARIS = ZoneInfo("Europe/Paris")
BASE = "https://slack.com/archives/"


def render(figures: DigestFigures, period: DigestPeriod = DigestPeriod.DAILY) -> RenderedDigest:
    return render_digest(figures, period=period, tz=PARIS, link_base=BASE, now=NOW)


def all_text(message: SlackMessage) -> str:
    return message.text + "\n" + "\n".join(iter_texts(message.blocks))


def assert_fits_slack(message: SlackMessage) -> None:
    assert check_message({"text": message.text, "blocks": message.blocks}) == []


@pytest.fixture
def rendered(session: Session, world: World) -> RenderedDigest:
    return render(compute_figures(session, NOW - timedelta(days=1), NOW, now=NOW))


def test_it_puts_each_figure_beside_the_previous_periods(rendered: RenderedDigest) -> None:
    fields = [f["text"] for f in rendered.top.blocks[1]["fields"]]
    # Coloured by meaning: more new alerts is bad (🔴), more resolved is good (🟢).
    assert fields == [
        "*New*\n*5*  🔴 ↑2 (was 3)",
        "*Resolved*\n*5*  🟢 ↑4 (was 1)",
        "*Acknowledged*\n*4*  🟢 ↑2 (was 2)",
        "*Still open*\n*4*  ⚪ same as before",
    ]
    times = [f["text"] for f in rendered.top.blocks[2]["fields"]]
    # Acknowledged after 0.5h, 1h, 1h and 71h (c3): median 1h, p90 71h, as the day before.
    assert times[0] == "*Time to acknowledge*\nmedian *1h* · p90 2d 23h\n⚪ same (was 1h) · n=4"
    # Resolved after 0.5h, 2h, 2h, 71h and one more; the day before's median was 10h.
    assert times[1] == "*Time to resolve*\nmedian *2h* · p90 2d 23h\n🟢 ↓8h (was 10h) · n=5"
    assert rendered.top.blocks[0]["text"]["text"] == "411 daily digest · Mon 30 Nov"


def test_it_keeps_the_top_post_short(rendered: RenderedDigest) -> None:
    assert len(rendered.top.blocks) <= 4  # and the chart, in the channel
    assert len(json.dumps(rendered.top.blocks, ensure_ascii=False)) < 1800
    assert "2 failed search runs" in all_text(rendered.top)
    assert_fits_slack(rendered.top)


def test_it_puts_the_lists_in_the_thread(rendered: RenderedDigest) -> None:
    assert rendered.details is not None
    text = all_text(rendered.details)
    for heading in (
        "By priority",
        "Noisiest searches",
        "not an issue",
        "Searches that failed",
        "Oldest alerts nobody has taken",
        "Top resolvers",
    ):
        assert heading in text
    assert "<@U_ALICE> 2 · <@U_BOB> 1 · <@U_CAROL> 1" in text
    assert "4 of 5 resolved (80%)" in text
    assert_fits_slack(rendered.details)


def test_it_escapes_search_names_titles_and_errors(rendered: RenderedDigest) -> None:
    assert rendered.details is not None
    text = all_text(rendered.details)
    assert "`noisy &lt;!channel&gt; &amp; *co*`" in text
    assert "&lt;@U_EVIL&gt; look *here*" in text
    assert "`timeout`" in text
    for live in ("<!channel>", "<@U_EVIL>"):
        assert live not in text


def test_it_links_waiting_alerts_to_their_messages(rendered: RenderedDigest, world: World) -> None:
    assert rendered.details is not None
    text = all_text(rendered.details)
    c1 = world.alerts["c1"]
    assert f"<{BASE}C_ALERTS/p1764040000000200|A-{c1} alert created at -100h>" in text
    # An alert without a message is listed without a link; a restricted one without its title.
    assert f"A-{world.alerts['a4']} &lt;@U_EVIL&gt;" in text
    assert "secret title" not in text and "(restricted search)" in text


def test_it_says_quiet_day_instead_of_a_table_of_zeros(session: Session) -> None:
    add_search(session, "idle")
    session.commit()
    rendered = render(compute_figures(session, NOW - timedelta(days=1), NOW, now=NOW))
    text = all_text(rendered.top)
    assert "Quiet day" in text
    assert "0" not in text.replace("30 Nov", "")  # no zeros anywhere
    assert rendered.details is None
    assert_fits_slack(rendered.top)


def test_it_says_quiet_week_and_mentions_what_is_still_open(session: Session) -> None:
    figures = compute_figures(session, NOW - timedelta(days=7), NOW, now=NOW)
    open_now = ByPriority.of({Priority.HIGH: 2})
    current = PeriodFigures(**{**figures.current.__dict__, "open_at_end": open_now})
    rendered = render(DigestFigures(current, figures.previous), DigestPeriod.WEEKLY)
    text = all_text(rendered.top)
    assert "Quiet week" in text and "2 alerts still open" in text
    assert rendered.top.blocks[0]["text"]["text"].startswith("411 weekly digest")


def test_it_stays_within_slacks_limits_whatever_the_data() -> None:
    huge = "<!here> " + "x" * 5000 + " `tick` *star*"
    counts = ByPriority.of({p: 10**9 for p in Priority})
    period = PeriodFigures(
        NOW - timedelta(days=1), NOW, counts, counts, counts, counts, 1e9, 1e9, 10**6
    )
    figures = DigestFigures(
        current=period,
        previous=period,
        noisiest=[NoisySearch(i, huge, 10**9, 10**12, 0) for i in range(5)],
        tuning=[TuningCandidate(i, huge, 10**6, 10**6) for i in range(5)],
        failed=[FailedSearch(i, huge, 10**6, NOW, huge + "\n" * 50) for i in range(5)],
        waiting=[
            WaitingAlert(i, huge, huge, Priority.LOW, NOW - timedelta(days=400), "C1", "1.2", False)
            for i in range(5)
        ],
        resolvers=[Resolver("<!channel>", 10**6), *[Resolver(f"U{i}", 5) for i in range(4)]],
    )
    rendered = render(figures)
    assert rendered.details is not None
    assert_fits_slack(rendered.top)
    assert_fits_slack(rendered.details)
    text = all_text(rendered.details)
    assert "<!here>" not in text and "<!channel>" not in text
    assert "[truncated]" in text


def test_it_derives_message_links_from_the_api_url() -> None:
    assert permalink_base("https://slack.com/api/") == "https://slack.com/archives/"
    assert permalink_base("http://127.0.0.1:4000/api/") == "http://127.0.0.1:4000/archives/"
