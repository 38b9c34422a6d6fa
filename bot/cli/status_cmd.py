"""``411 status``: how the bot is doing, for a person; ``411 deliveries resend``: try given-up posts again."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from bot.errors import InvalidInput
from bot.ops.status import Status, read_status, resend
from bot.runs.health import run_health
from bot.runtime import Runtime
from bot.text.refs import Ref

SCHEDULED_SPAN = timedelta(minutes=10)  # the fire times 411 status accounts for


def register(subparsers: Any) -> None:
    status = subparsers.add_parser("status", help="workers, runs and the delivery backlog")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_status)
    deliveries = subparsers.add_parser("deliveries", help="the delivery outbox")
    actions = deliveries.add_subparsers(dest="deliveries_command", metavar="ACTION", required=True)
    again = actions.add_parser("resend", help="send given-up deliveries again")
    again.add_argument("ids", nargs="*", type=int, help="delivery ids (see 411 status)")
    again.add_argument("--all", action="store_true", help="every given-up delivery")
    again.set_defaults(handler=_resend)


def render(status: Status) -> list[str]:
    backlog = status.deliveries
    lines = [f"411 status at {status.now:%Y-%m-%d %H:%M:%S} UTC", "", "Workers:"]
    for worker in status.workers:
        state = "alive" if worker.alive else f"silent for {worker.beat_age_seconds:.0f}s"
        lines.append(f"  {worker.name:<50} {worker.role:<10} {state}")
    if not status.workers:
        lines.append("  (none running)")
    lines.append(f"  scheduler lease: {status.lease_holder or '(nobody holds it)'}")
    runs = ", ".join(f"{n} {s}" for s, n in sorted(status.runs_last_hour.items())) or "none"
    lines += ["", f"Runs: {status.running} running; last hour: {runs}"]
    open_alerts = sum(n for (state, _), n in status.alerts.items() if state != "resolved")
    lines.append(f"Alerts: {open_alerts} open")
    lines += [
        "",
        "Deliveries to Slack:",
        f"  pending {backlog.pending}, retrying {backlog.retrying}, sending {backlog.sending},"
        f" given up {backlog.given_up}",
        f"  oldest unsent: {backlog.oldest_age_seconds:.0f}s old"
        if backlog.pending + backlog.retrying + backlog.sending
        else "  nothing waiting",
    ]
    if status.given_up:
        lines += ["", "Given up (411 deliveries resend --all sends them again):"]
        for row in status.given_up:
            alert = f" alert {Ref.ALERT(row.alert_id)}" if row.alert_id else ""
            lines.append(
                f"  #{row.id} {row.kind} to {row.channel}{alert}, {row.attempts} attempts,"
                f" since {row.created_at:%Y-%m-%d %H:%M}: {row.error[:160]}"
            )
        if backlog.given_up > len(status.given_up):
            lines.append(f"  ... and {backlog.given_up - len(status.given_up)} more")
    return lines


def _status(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    status = read_status(runtime)
    with runtime.sessions() as session:  # every fire time of the last minutes accounted for
        scheduled = run_health(session, status.now - SCHEDULED_SPAN, status.now)
    if args.json:
        body = asdict(status)
        body["scheduled"] = {
            "due": scheduled.due,
            "ran": scheduled.ran,
            "missed": scheduled.missed,
            "waiting": scheduled.waiting,
            "lateness_p50_s": scheduled.lateness_at(50),
            "lateness_p99_s": scheduled.lateness_at(99),
        }
        body["alerts"] = [
            {"state": s, "priority": p, "count": n} for (s, p), n in status.alerts.items()
        ]
        body["lease_holder"] = status.lease_holder
        print(json.dumps(body, default=str, indent=2))
    else:
        print("\n".join([*render(status), "", *scheduled.lines()]))
    return 0


def _resend(args: argparse.Namespace) -> int:
    if not args.all and not args.ids:
        raise InvalidInput("name the deliveries to send again, or --all")
    count = resend(Runtime.start(), None if args.all else list(args.ids))
    if args.ids and count < len(args.ids):
        print(f"{len(args.ids) - count} of those are not given-up deliveries; left as they are")
    print(f"{count} deliveries will be sent again")
    return 0
