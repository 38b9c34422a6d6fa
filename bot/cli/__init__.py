"""The ``411`` command. Each area registers its subcommands from its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from bot import __version__
from bot.config import log_format
from bot.errors import BotError
from bot.logs import formatter

# Modules that add subcommands; each has ``register(subparsers)``.
COMMAND_MODULES = [
    "bot.cli.dev_cmd",
    "bot.cli.config_cmd",
    "bot.cli.db_cmd",
    "bot.cli.search_cmd",
    "bot.cli.import_cmd",
    "bot.cli.worker_cmd",
    "bot.cli.slack_cmd",
    "bot.cli.status_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="411",
        description="411 for Slack: scheduled searches become alerts your team acts on in Slack.",
    )
    parser.add_argument("--version", action="version", version=f"411 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


# Client libraries that log every retry with a full traceback; the failure reaches the
# user (and the run's record) as one line anyway, so these say only what matters.
QUIET_LIBRARIES = ("elastic_transport", "opensearch", "urllib3")


class _NoLibraryTracebacks(logging.Filter):
    """Log records from QUIET_LIBRARIES keep their message but lose the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith(QUIET_LIBRARIES):
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {error}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def configure_logging() -> None:
    try:
        chosen = log_format(os.environ)
    except BotError:
        chosen = "text"  # the settings report the mistake where they are loaded
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter(chosen))
        handler.addFilter(_NoLibraryTracebacks())
    for name in QUIET_LIBRARIES:  # retries are warnings; the final failure is reported by us
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    configure_logging()
    try:
        return int(args.handler(args) or 0)
    except BotError as exc:
        # Expected failures get one line, not a traceback.
        print(f"411: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
