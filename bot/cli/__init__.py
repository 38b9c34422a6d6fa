"""The ``411`` command. Each area registers its subcommands from its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot import __version__
from bot.errors import BotError

# Modules that add subcommands; each has ``register(subparsers)``.
COMMAND_MODULES = [
    "bot.cli.dev_cmd",
    "bot.cli.config_cmd",
    "bot.cli.db_cmd",
    "bot.cli.search_cmd",
    "bot.cli.worker_cmd",
    "bot.cli.slack_cmd",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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
