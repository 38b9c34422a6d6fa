"""``411 import sigma|elastalert FILE|DIR ...``: other tools' rules become 411 searches.

Every format shares the options of where the searches go (index, cluster,
channel, owner, schedule) and what happens to them (``--out DIR`` writes 411
YAML files, ``--db`` saves them; without either they are saved), and the
report: each rule converted, or not convertible with the converter's reason.
The import goes on past a bad rule or file; the exit code is 1 when any rule
was not converted or not saved, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.cli.search_cmd import actor
from bot.config import load_settings
from bot.rule_import.options import ImportOptions
from bot.rule_import.output import distinct_names, save, write_yaml
from bot.rule_import.report import ConversionReport


def register(subparsers: Any) -> None:
    imp = subparsers.add_parser("import", help="turn Sigma (or other) rules into 411 searches")
    formats = imp.add_subparsers(dest="import_format", metavar="FORMAT", required=True)
    _register_sigma(formats)
    _register_elastalert(formats)


def _register_sigma(formats: Any) -> None:
    sigma = formats.add_parser(
        "sigma",
        help="Sigma rules, through pySigma's Elasticsearch (Lucene) backend",
        description="Convert Sigma rules (files, or folders searched for .yml/.yaml) into "
        "Elasticsearch searches. Carried over: title, description, level (priority), tags, "
        "references and false positives (alert body), rule id (a re-import updates). With --out, "
        "a rule's regression event beside it (event.json) becomes its must_fire example, for "
        "`411 search verify`.",
    )
    sigma.add_argument("paths", nargs="+", metavar="FILE|DIR")
    sigma.add_argument(
        "--pipeline",
        help="pySigma processing pipeline that names your logs' fields: auto, none, ecs_windows, "
        "ecs_windows_old, ecs_zeek_beats, ... (default: the cluster's SIGMA_PIPELINE setting, "
        "else auto: ecs_windows for Windows rules, ecs_zeek_beats for Zeek, none for others)",
    )
    add_target_options(sigma, default_index="winlogbeat-* for Windows rules, logs-* for others")
    sigma.set_defaults(handler=_sigma)


def _register_elastalert(formats: Any) -> None:
    elastalert = formats.add_parser(
        "elastalert",
        help="ElastAlert2 rule files",
        description="Convert ElastAlert2 rules (files, or folders searched for .yml/.yaml) into "
        "Elasticsearch searches: any, frequency, flatline, blacklist, whitelist, change, "
        "cardinality, new_term, spike, spike_aggregation, metric_aggregation, percentage_match. "
        "Filters, index, timestamp_field, query_key, realert, run_every, buffer_time, "
        "aggregation and alert_subject/alert_text are carried over; what is not is listed per "
        "rule (with -v). Alerters become the --channel and --owner given here.",
    )
    elastalert.add_argument("paths", nargs="+", metavar="FILE|DIR")
    add_target_options(elastalert, default_index="the rule's index")
    elastalert.set_defaults(handler=_elastalert)


def add_target_options(parser: argparse.ArgumentParser, *, default_index: str) -> None:
    """The options every format shares: where the searches query, alert and are written."""
    parser.add_argument(
        "--index", help=f"index pattern the searches query (default: {default_index})"
    )
    parser.add_argument("--cluster", help="named Elasticsearch cluster (default: default)")
    parser.add_argument("--channel", help="Slack channel ID for the alerts")
    parser.add_argument("--owner", help="Slack user ID of the searches' owner")
    parser.add_argument("--schedule", default="every 5m", help='e.g. "every 5m" or a cron line')
    parser.add_argument("--disabled", action="store_true", help="import the searches disabled")
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write one 411 YAML file per search"
    )
    parser.add_argument(
        "--db", action="store_true", help="save into the database (the default without --out)"
    )
    parser.add_argument("--dry-run", action="store_true", help="convert and check, save nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="list converted rules too")


def options_from(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(
        index=args.index,
        cluster=args.cluster,
        channel=args.channel,
        owner=args.owner,
        schedule=args.schedule,
        enabled=not args.disabled,
    )


def _elastalert(args: argparse.Namespace) -> int:
    from bot.rule_import.elastalert import convert_paths

    return deliver(args, convert_paths(args.paths, options_from(args)), "elastalert")


def _sigma(args: argparse.Namespace) -> int:
    from bot.rule_import.sigma import chosen_pipeline, convert_paths

    pipeline = chosen_pipeline(load_settings(), args.cluster, args.pipeline)
    report = convert_paths(args.paths, options_from(args), pipeline)
    return deliver(args, report, "sigma")


def deliver(args: argparse.Namespace, report: ConversionReport, what: str) -> int:
    """Print the report, write and/or save what converted; 1 if anything failed."""
    report.write(sys.stdout, sys.stderr, verbose=args.verbose)
    definitions = distinct_names(report.converted)
    if args.out and not args.dry_run:
        for path in write_yaml(report.converted, definitions, args.out):
            print(f"wrote {path}")
    saved_ok = True
    if (args.db or not args.out) and definitions:
        from bot.runtime import Runtime

        runtime = Runtime.start()
        reason = f"imported from {what}"
        saved = save(runtime.sessions, definitions, actor(), reason, dry_run=args.dry_run)
        for problem in saved.problems:
            print(f"not saved: {problem}", file=sys.stderr)
        verb = "would be " if args.dry_run else ""
        print(
            f"{len(saved.created)} {verb}created, {len(saved.updated)} {verb}updated, "
            f"{len(saved.unchanged)} unchanged, {len(saved.problems)} not saved"
        )
        saved_ok = saved.ok
    return 0 if report.ok and saved_ok else 1
