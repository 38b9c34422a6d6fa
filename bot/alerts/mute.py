""" "Mute this key…" on an alert: a suppression of the alert's key, from the alert itself.

The same row ``/411 suppress <search> #<alert> for <duration>`` makes, with the same
permission rule (whoever may act on the search's alerts) and the same bounds.
"""

from __future__ import annotations

from datetime import timedelta

from bot.alerts.actions import ActionContext, _record, load_alert
from bot.alerts.permissions import check_alert_action
from bot.errors import InvalidInput
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
    reason = reason.strip()[:500]
    row = Suppression(
        search_id=alert.search_id,
        dedupe_key=alert.dedupe_key,
        reason=reason,
        created_by=ctx.actor.user_id,
        created_at=ctx.now,
        expires_at=ctx.now + timedelta(seconds=seconds),
    )
    ctx.session.add(row)
    ctx.session.flush()
    what = (
        f"muted key {code(alert.dedupe_key, 200)} for {format_duration(seconds)} "
        f"({Ref.SUPPRESSION(row.id)})"
    )
    if reason:
        what += f"\n>{safe_text(reason, 500)}"
    detail = {"suppression_id": row.id, "seconds": seconds, "reason": reason}
    _record(ctx, alert, AlertAction.MUTED, what, detail, reply=True)
    return row
