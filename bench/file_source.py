"""Throughput of the file source: lines per second over a ~100 MB NDJSON log.

Run: ``python bench/file_source.py [--mb 100]``. Generates the file once (cached in
the temp folder), then runs each mode with a few typical queries and prints lines/s
and MB/s. Peak memory stays small because the file is streamed.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from searches.base import SourceContext, TimeWindow
from searches.file import FileSource

START = datetime(2026, 3, 1, tzinfo=UTC)
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "root", "deploy"]
MESSAGES = [
    "Accepted password for {u} from {ip} port 22 ssh2",
    "Failed password for {u} from {ip} port 22 ssh2",
    "session opened for user {u} by (uid=0)",
    "GET /api/v1/items?page=3 HTTP/1.1 200",
    "Connection closed by {ip} port 51234 [preauth]",
]


def generate(path: Path, megabytes: int) -> int:
    rng = random.Random(411)
    target = megabytes * 1024 * 1024
    lines = 0
    with path.open("w") as stream:
        while stream.tell() < target:
            user = rng.choice(USERS)
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            document = {
                "@timestamp": (START + timedelta(milliseconds=lines * 7)).isoformat(),
                "host": f"web{rng.randrange(20)}",
                "user": user,
                "status": rng.choice([200, 200, 200, 404, 500]),
                "bytes": rng.randrange(100_000),
                "msg": rng.choice(MESSAGES).format(u=user, ip=ip),
                "src": {"ip": ip, "port": 22},
            }
            stream.write(json.dumps(document) + "\n")
            lines += 1
    return lines


def measure(path: Path, lines: int, label: str, **raw: object) -> None:
    source = FileSource(FileSource.parse_config({"path": str(path), **raw}), SourceContext())
    window = TimeWindow(START, START + timedelta(days=30))
    started = time.perf_counter()
    result = source.run(window)
    elapsed = time.perf_counter() - started
    size_mb = path.stat().st_size / 1024 / 1024
    found = result.count if result.count is not None else len(result.hits or result.buckets)
    print(
        f"{label:<44} {lines / elapsed:>10,.0f} lines/s {size_mb / elapsed:>6.1f} MB/s "
        f"{elapsed:>6.2f} s  result={found}{' (truncated)' if result.truncated else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    path = Path(tempfile.gettempdir()) / f"411-bench-{args.mb}mb.log"
    if not path.exists():
        print(f"generating {path} ...")
        generate(path, args.mb)
    with path.open("rb") as stream:
        lines = sum(1 for _ in stream)
    print(f"{path}: {path.stat().st_size / 1024 / 1024:.0f} MB, {lines:,} lines")
    measure(path, lines, "count, match all", mode="count")
    measure(path, lines, 'count, msg:"failed password" AND user:root', mode="count",
            query='msg:"failed password" AND user:root')  # fmt: skip
    measure(path, lines, "count, status:>=500 OR bytes:[0 TO 99]", mode="count",
            query="status:>=500 OR bytes:[0 TO 99]")  # fmt: skip
    measure(path, lines, "hits (max 500), user:root AND NOT host:web1", query="user:root AND NOT host:web1")  # fmt: skip
    measure(path, lines, "terms by user, status", mode="terms", group_by=["user", "status"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
