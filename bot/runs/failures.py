"""Failing searches: tell the owner once after N consecutive failures, and once on recovery."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.deliveries import outbox
from bot.deliveries.outbox import Keys
from bot.models import DeliveryKind, Search, SearchRun
from bot.text.escape import code, escape_mrkdwn
from bot.text.refs import Ref


def record_failure(session: Session, search: Search, run: SearchRun) -> None:
    failures = search.consecutive_failures + 1
    notify = failures >= search.failure_threshold and not search.failure_notified
    session.execute(
        update(Search)
        .where(Search.id == search.id)
        .values(
            consecutive_failures=failures,
            failure_notified=search.failure_notified or notify,
            updated_at=Search.updated_at,  # run state, not an edit of the search
        )
    )
    if notify and search.owner:
        text = (
            f":warning: Search *{escape_mrkdwn(search.name)}* ({Ref.SEARCH(search.id)}) has failed "
            f"{failures} times in a row. Last error: {code(run.error or '-', 500)}"
        )
        _tell_owner(
            session, search, Keys.SEARCH_FAILING.build(search_id=search.id, run_id=run.id), text
        )


def record_success(session: Session, search: Search, run: SearchRun) -> None:
    if search.consecutive_failures == 0 and not search.failure_notified:
        return
    if search.failure_notified and search.owner:
        name = escape_mrkdwn(search.name)
        text = f":white_check_mark: Search *{name}* ({Ref.SEARCH(search.id)}) is running again."
        _tell_owner(
            session, search, Keys.SEARCH_RECOVERED.build(search_id=search.id, run_id=run.id), text
        )
    session.execute(
        update(Search)
        .where(Search.id == search.id)
        .values(consecutive_failures=0, failure_notified=False, updated_at=Search.updated_at)
    )


def warn_owner(session: Session, search: Search, run: SearchRun, warnings: list[str]) -> None:
    """Tell the owner once per version of the search that its runs carry a warning.

    A key field the results lack or a field the data does not have makes a search
    alert wrongly without failing; the owner hears of it instead of finding out later.
    """
    if not search.owner:
        return
    listed = "\n".join(f"• {escape_mrkdwn(w[:300])}" for w in warnings[:5])
    text = (
        f":warning: Search *{escape_mrkdwn(search.name)}* ({Ref.SEARCH(search.id)}) ran with "
        f"warnings (run {run.id}):\n{listed}\nSee `/411 search show {search.id}`."
    )
    _tell_owner(
        session,
        search,
        Keys.SEARCH_WARNING.build(search_id=search.id, version=f"v{search.version}"),
        text,
    )


def _tell_owner(session: Session, search: Search, key: str, text: str) -> None:
    """A direct message to the search's owner, sent once per ``key``."""
    outbox.enqueue(
        session,
        key=key,
        kind=DeliveryKind.MESSAGE,
        channel=search.owner or "",
        payload={"text": text},
    )
