"""``411 worker``: run the scheduler, the search runs, the Slack delivery loop and the digest."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import threading
from typing import Any

from bot.runs.worker import Worker
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Other loops a worker runs when their modules are installed: (module, class).
COMPANIONS = [("bot.deliveries.loop", "DeliveryLoop"), ("bot.digest.scheduler", "DigestScheduler")]


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser("worker", help="run scheduled searches and deliveries")
    worker.add_argument("--threads", type=int, default=4, help="search runs at once (default 4)")
    worker.add_argument(
        "--no-schedule", action="store_true", help="only execute runs, never schedule"
    )
    worker.add_argument("--no-companions", action="store_true", help="no delivery loop or digest")
    worker.add_argument(
        "--ops-port",
        type=int,
        default=None,
        help="port of /metrics, /livez, /readyz (default OPS_PORT or 9411; 0: none)",
    )
    worker.set_defaults(handler=_worker)


def companions(runtime: Runtime) -> list[Any]:
    loops = []
    for module_name, class_name in COMPANIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            log.info("%s is not available; not started", module_name)
            continue
        loops.append(getattr(module, class_name)(runtime))
    return loops


def _worker(args: argparse.Namespace) -> int:
    runtime = Runtime.start()
    logging.getLogger().setLevel(runtime.settings.log_level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per fire is noise
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = Worker(runtime, threads=args.threads, schedule=not args.no_schedule)
    others = [] if args.no_companions else companions(runtime)
    worker.start()
    for loop in others:
        loop.start()
    ops = _ops_server(runtime, worker, others, args.ops_port)
    print(f"411 worker {worker.name} started ({args.threads} threads); Ctrl-C stops it", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if ops is not None:
            ops.stop()
        for loop in others:
            loop.stop()
        worker.stop()
    return 0


def _ops_server(runtime: Runtime, worker: Worker, others: list[Any], port: int | None) -> Any:
    """/metrics, /livez and /readyz on OPS_PORT (0: none)."""
    from bot.ops.server import OpsServer

    port = runtime.settings.ops_port if port is None else port
    if not port:
        return None

    def alive() -> bool:
        return worker.alive() and all(loop.alive() for loop in others)

    ops = OpsServer(runtime, port, alive, host=runtime.settings.host)
    ops.start()
    print(f"411 worker: metrics on http://{runtime.settings.host}:{ops.port}/metrics", flush=True)
    return ops
