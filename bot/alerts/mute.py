""" "Mute this key…" on an alert: a suppression of the alert's key, from the alert itself.

The same row ``/411 suppress <search> #<alert> for <duration>`` makes, with the same
permission rule (whoever may act on the search's alerts) and the same bounds.
"""

from __future__ import annotations

from datetime import timedelta

from bot.alerts import transitions
from bot.alerts.actions import ActionContext, load_alert
from bot.alerts.permissions import check_alert_action
from bot.alerts.suppressions import create_suppression
from bot.errors import InvalidInput, NotFound
from bot.models import AlertAction, Suppression
from bot.text.escape import code, safe_text
from bot.text.refs import Ref
from searches.durations import format_duration

MIN_MUTE = 60
MAX_MUTE = 90 * 86400


def mute_alert_key(ctx: ActionContext, alert_id: int, seconds: int, reason: str) -> Suppression:
    if not MIN_MUTE <= seconds <= MAX_MUTE:
        raise InvalidInput("Mute for between 1 minute and 90 days.", field="duration")
    alert, search = load_alert(ctx.session, alert_id)
    check_alert_action(ctx.settings, ctx.directory, ctx.actor, search, alert)
    if search is None:  # never a suppression of every search from one alert's menu
        raise NotFound(f"The search of {Ref.ALERT(alert.id)} is gone.")
    row = create_suppression(
        ctx.session,
        ctx.actor.user_id,
        search,
        alert.dedupe_key,
        ctx.now + timedelta(seconds=seconds),
        reason,
        now=ctx.now,
    )
    what = (
        f"muted key {code(alert.dedupe_key, 200)} for {format_duration(seconds)} "
        f"({Ref.SUPPRESSION(row.id)})"
    )
    if row.reason:
        what += f"\n>{safe_text(row.reason, 500)}"
    detail = {"suppression_id": row.id, "seconds": seconds, "reason": row.reason}
    change = transitions.Change(ctx.session, ctx.actor.user_id, ctx.now)
    transitions.record(change, alert, AlertAction.MUTED, detail, say=what, reply=True)
    return row
