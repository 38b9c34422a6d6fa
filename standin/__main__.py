"""`python -m standin --port 8411 --bot-url http://127.0.0.1:3000/slack/events`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from standin.standin import SlackStandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8411)
    parser.add_argument("--bot-url", default=os.environ.get("STANDIN_BOT_URL"))
    parser.add_argument(
        "--signing-secret", default=os.environ.get("SLACK_SIGNING_SECRET", "standin-secret")
    )
    parser.add_argument("--bot-token", default=os.environ.get("SLACK_BOT_TOKEN", "xoxb-standin"))
    parser.add_argument(
        "--state-file", type=Path, help="keep the workspace in this JSON file across restarts"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    standin = SlackStandIn(
        args.signing_secret,
        args.bot_token,
        args.bot_url,
        args.host,
        args.port,
        state_path=args.state_file,
    )
    standin.start()
    print(f"Slack stand-in at {standin.url} (Web API {standin.api_url})", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
