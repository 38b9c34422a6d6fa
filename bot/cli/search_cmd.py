"""``411 search list | show | import | export | test | run | enable | disable | delete |
push-token``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.definitions.revisions import field_diff
from bot.definitions.search import definition_from_search, secret_warnings
from bot.definitions.store import (
    delete_search,
    find_search,
    issue_push_token,
    list_searches,
    revisions,
    set_enabled,
)
from bot.definitions.yaml_files import (
    dump_all,
    dump_definition,
    export_searches,
    import_paths,
    read_file,
    write_directory,
    yaml_files,
)
from bot.errors import InvalidInput
from bot.models import SearchRun
from bot.runtime import Runtime
from bot.text.time_input import ZONE_HELP, parse_range


def register(subparsers: Any) -> None:
    search = subparsers.add_parser("search", help="manage and try searches")
    commands = search.add_subparsers(dest="search_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="list searches with their last run and open alerts")
    listing.add_argument("filter", nargs="?", help="only names/descriptions containing this")
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", help="show a search's definition and recent runs")
    show.add_argument("search", help="search id or name")
    show.set_defaults(handler=_show)

    imp = commands.add_parser("import", help="create/update searches from YAML files or folders")
    imp.add_argument("paths", nargs="+", metavar="FILE|DIR")
    imp.add_argument("--dry-run", action="store_true", help="validate and report, change nothing")
    imp.set_defaults(handler=_import)

    exp = commands.add_parser("export", help="write searches as YAML (stdout, or one file each)")
    exp.add_argument("names", nargs="*", help="only these searches, by id or name (default: all)")
    exp.add_argument("--dir", type=Path, help="write one FILE.yaml per search into DIR")
    exp.set_defaults(handler=_export)

    test = commands.add_parser("test", help="run a search without creating alerts")
    test.add_argument("search", metavar="FILE|ID", help="a YAML file, or a search id or name")
    test.add_argument("--json", action="store_true", help="print JSON")
    test.add_argument("--from", dest="start", help=f"window start: {ZONE_HELP}")
    test.add_argument("--to", dest="end", help=f'window end: {ZONE_HELP}; default "now"')
    test.set_defaults(handler=_test)

    backfill = commands.add_parser(
        "backfill",
        help="run a search over a past span for real, as its schedule would have (one summary post)",
    )
    backfill.add_argument("search", help="search id or name")
    backfill.add_argument("--from", dest="start", required=True, help=f"span start: {ZONE_HELP}")
    backfill.add_argument("--to", dest="end", help=f'span end: {ZONE_HELP}; default "now"')
    backfill.add_argument("--json", action="store_true", help="print JSON")
    backfill.set_defaults(handler=_backfill)

    verify = commands.add_parser(
        "verify",
        help="check every search's example events (must fire / must not fire); no database needed",
    )
    verify.add_argument("paths", nargs="+", metavar="FILE|DIR")
    verify.add_argument(
        "--cluster", help="index the examples into a scratch index of this cluster and search there"
    )
    verify.set_defaults(handler=_verify)

    run = commands.add_parser("run", help="run a search now, for real")
    run.add_argument("search", help="search id or name")
    run.add_argument("--json", action="store_true", help="print JSON")
    run.set_defaults(handler=_run)

    for action, helptext in (("enable", "enable a search"), ("disable", "disable a search")):
        toggle = commands.add_parser(action, help=helptext)
        toggle.add_argument("search", help="search id or name")
        toggle.set_defaults(handler=_toggle, enabled=action == "enable")

    delete = commands.add_parser("delete", help="delete a search (its alerts are kept)")
    delete.add_argument("search", help="search id or name")
    delete.set_defaults(handler=_delete)

    push_token = commands.add_parser(
        "push-token", help="issue a new token for a push search (the old one stops working)"
    )
    push_token.add_argument("search", help="search id or name")
    push_token.set_defaults(handler=_push_token)


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def _list(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions() as session:
        rows = list_searches(session, args.filter)
    if not rows:
        print("no searches")
        return 0
    head = f"{'ID':>5}  {'NAME':30}  {'SOURCE':13}  {'PRIORITY':8}  {'SCHEDULE':14}  "
    print(head + f"{'OWNER':12}  {'CHANNEL':12}  {'LAST RUN':28}  {'HEALTH':12}  OPEN")
    for row in rows:
        last = "-"
        if row.last_run_status and row.last_run_at:
            last = f"{row.last_run_status.value} {row.last_run_at:%Y-%m-%d %H:%M}"
        name = row.name if row.enabled else f"{row.name} (off)"
        print(
            f"{row.id:>5}  {name[:30]:30}  {row.source:13}  {row.priority:8}  "
            f"{row.schedule[:14]:14}  {(row.owner or '-')[:12]:12}  {(row.channel or '-')[:12]:12}  "
            f"{last[:28]:28}  {row.health[:12]:12}  {row.open_alerts}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions() as session:
        search = find_search(session, args.search)
        print(
            f"# search {search.id}, version {search.version}, {'enabled' if search.enabled else 'disabled'}"
        )
        if search.last_window_end:
            print(f"# last window end: {search.last_window_end.isoformat()}")
        print(dump_definition(definition_from_search(search), redact=True), end="")
        runs = session.scalars(
            select(SearchRun)
            .where(SearchRun.search_id == search.id)
            .order_by(SearchRun.id.desc())
            .limit(10)
        )
        print("# history")
        before = None
        for revision in revisions(session, search):
            changes = field_diff(before, revision.snapshot)
            print(
                f"#  v{revision.version} {revision.changed_at:%Y-%m-%d %H:%M:%S} "
                f"{revision.changed_by or '-'}: {revision.reason}"
                + (f" [{'; '.join(changes)}]" if changes else "")
            )
            before = revision.snapshot
        print("# recent runs")
        for run in runs:
            print(
                f"#  {run.scheduled_for:%Y-%m-%d %H:%M:%S} {run.status.value:10} hits={run.hits} "
                f"new={run.alerts_new} updated={run.alerts_updated} suppressed={run.suppressed} "
                f"{run.duration_ms or 0}ms {run.error or ''}"
            )
    return 0


def _import(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    report = import_paths(
        runtime.sessions, args.paths, actor(), dry_run=args.dry_run, settings=runtime.settings
    )
    for problem in report.problems:
        print(problem, file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    verb = "would be " if args.dry_run else ""
    print(
        f"{len(report.created)} {verb}created, {len(report.updated)} {verb}updated, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped_files)} file(s) not imported"
    )
    return 0 if report.ok else 1


def _export(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions() as session:
        definitions = export_searches(session, args.names)
    for defn in definitions:  # the export keeps them (it is the operator's file), but says so
        for warning in secret_warnings(defn):
            print(f"411: warning: {warning}", file=sys.stderr)
    if args.dir:
        for path in write_directory(definitions, args.dir):
            print(path)
    else:
        sys.stdout.write(dump_all(definitions))
    return 0


def _test(args: argparse.Namespace) -> int:
    from bot.runs.runner import preview_search

    runtime = Runtime.start()
    now = datetime.now(UTC)
    target: Any = args.search
    path = Path(args.search)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        [result] = [read_file(p) for p in yaml_files([path])]
        if result.problems:
            raise InvalidInput("\n".join(result.problems))
        if len(result.definitions) != 1:
            raise InvalidInput(
                f"{path} holds {len(result.definitions)} searches; test one at a time"
            )
        target = result.definitions[0]
    window = parse_range(args.start, args.end, now, quote=_quote_option, tz=runtime.settings.tz)
    preview = preview_search(runtime, target, window, now=now)
    if args.json:
        print(json.dumps(preview.to_dict(), indent=2, default=str))
    else:
        _print_preview(preview)
    return 1 if preview.error else 0


def _print_preview(preview: Any) -> None:
    plan = preview.plan
    print(
        f"search {preview.search_name!r}, window {preview.window.start:%Y-%m-%d %H:%M:%S} - {preview.window.end:%Y-%m-%d %H:%M:%S} UTC"
    )
    for warning in [*preview.warnings, *plan.warnings]:
        print(f"warning: {warning}")
    if preview.error:
        print(f"error: {preview.error}")
        return
    print(
        f"{plan.hits} hits, {plan.firing} firing, {len(plan.new)} new alerts, {len(plan.seen)} seen again, "
        f"{plan.suppressed} suppressed, {len(plan.closing)} would close"
        + (" (one burst post)" if plan.burst else "")
    )
    for new in plan.new[:50]:
        print(f"  NEW  {new.title}  [{new.key}] x{new.occurrences}")
        if new.template_error:
            print(f"       template error: {new.template_error}")
    if len(plan.new) > 50:
        print(f"  ... and {len(plan.new) - 50} more")
    for seen in plan.seen[:20]:
        print(
            f"  SEEN alert {seen.alert_id} [{seen.key}] +{seen.occurrences}"
            + (f" (renotify: {seen.renotify})" if seen.renotify else "")
        )
    for closing in plan.closing[:20]:
        print(f"  CLOSE alert {closing.alert_id} [{closing.key}]: {closing.reason}")
    print("nothing was written (this was a test)")


def _run(args: argparse.Namespace) -> int:
    from bot.runs.runner import run_search

    runtime = Runtime.start()
    with runtime.sessions() as session:
        search_id = find_search(session, args.search).id
    run = run_search(runtime, search_id)
    summary = {
        "run_id": run.id,
        "status": run.status.value,
        "window_start": run.window_start.isoformat() if run.window_start else None,
        "window_end": run.window_end.isoformat() if run.window_end else None,
        "hits": run.hits,
        "alerts_new": run.alerts_new,
        "alerts_updated": run.alerts_updated,
        "suppressed": run.suppressed,
        "duration_ms": run.duration_ms,
        "error": run.error,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(" ".join(f"{k}={v}" for k, v in summary.items() if v is not None))
    return 0 if run.status.value == "succeeded" else 1


def _backfill(args: argparse.Namespace) -> int:
    from bot.runs.backfill import backfill_search

    runtime = Runtime.start()
    now = datetime.now(UTC)
    span = parse_range(args.start, args.end, now, quote=_quote_option, tz=runtime.settings.tz)
    assert span is not None  # --from is required
    with runtime.sessions() as session:
        search_id = find_search(session, args.search).id
    report = backfill_search(runtime, search_id, span, actor=actor(), now=now)
    if args.json:
        summary = {
            "search": report.search_name,
            "run_id": report.run_id,
            "runs": report.chunks,
            "runs_done_before": report.skipped_chunks,
            "hits": report.hits,
            "alerts_new": len(report.new_alert_ids),
            "summary_posted": report.summary_posted,
            "error": report.error,
        }
        print(json.dumps(summary, indent=2))
    else:
        print(report.text())
    return 0 if report.finished else 1


def _verify(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.runs.verify import summary, verify_paths

    settings = load_settings() if args.cluster else None
    outcomes = verify_paths(args.paths, settings=settings, cluster=args.cluster)
    for outcome in outcomes:
        print(outcome.line(), file=sys.stdout if outcome.ok else sys.stderr)
    print(summary(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


def _toggle(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions.begin() as session:
        search = find_search(session, args.search)
        changed = set_enabled(session, search, args.enabled, actor())
        state = "enabled" if args.enabled else "disabled"
        print(f"search {search.id} {search.name!r} {state}" + ("" if changed else " already"))
    return 0


def _delete(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions.begin() as session:
        search = find_search(session, args.search)
        name = search.name
        delete_search(session, search, actor())
        print(f"search {search.id} {name!r} deleted (its alerts are kept)")
    return 0


def _push_token(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    with runtime.sessions.begin() as session:
        search = find_search(session, args.search)
        token = issue_push_token(session, search, actor())
        search_id = search.id
    base = runtime.settings.public_url or f"http://{runtime.settings.host}:{runtime.settings.port}"
    print(f"push token for search {search_id} (shown once; the previous token no longer works):")
    print(token)
    print()
    print("send events with:")
    print(
        f"  curl -X POST {base.rstrip('/')}/push/{search_id} -H 'Authorization: Bearer {token}' "
        "-H 'Content-Type: application/json' -d '{\"message\": \"...\"}'"
    )
    return 0


def _quote_option(text: str) -> str:
    """Typed times in double quotes, option names as the command line spells them."""
    return f"--{text}" if text in ("from", "to") else f'"{text}"'
