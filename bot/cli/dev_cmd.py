"""``411 dev``: the whole product locally, with a Slack stand-in page instead of Slack."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

from bot.cli.dev_stack import (
    DEFAULT_DATA_DIR,
    DEFAULT_PORT,
    DevOptions,
    DevStack,
    database_url_option,
)


def register(subparsers: Any) -> None:
    dev = subparsers.add_parser(
        "dev",
        help="run everything locally: Slack stand-in page, bot, scheduler and a demo",
        description=(
            "Runs the bot, the scheduler, the delivery loop and the digest against a local "
            "Slack stand-in whose web page behaves like a Slack channel, with a demo that "
            "generates security events and searches that alert on them. No Slack "
            "credentials and no Elasticsearch needed."
        ),
    )
    dev.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port of the page (default {DEFAULT_PORT})"
    )
    dev.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    dev.add_argument(
        "--db",
        metavar="URL|PATH",
        help=(
            "database URL, or a file path for a SQLite database "
            "(default: DATABASE_URL, else ./411-dev.db)"
        ),
    )
    dev.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"where the demo writes its event log (default ./{DEFAULT_DATA_DIR})",
    )
    dev.add_argument("--no-demo", action="store_true", help="no event generator, no demo searches")
    dev.set_defaults(handler=_dev)


def _dev(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    started = time.monotonic()
    options = DevOptions(
        port=args.port,
        host=args.host,
        database_url=database_url_option(args.db) if args.db is not None else None,
        data_dir=args.data_dir,
        demo=not args.no_demo,
    )
    stop = threading.Event()
    # Ctrl-C and SIGTERM both end the wait below; everything is stopped in `finally`.
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    stack = DevStack(options)
    try:
        stack.start()
        print(stack.banner(), flush=True)
        print(f"  (started in {time.monotonic() - started:.1f} s)", flush=True)
        stop.wait()
        print("\n411 dev: stopping…", flush=True)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("411 dev: stopped.", flush=True)
    return 0
