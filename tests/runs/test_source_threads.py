"""Source calls reuse idle threads; a call that hangs never holds up the next one."""

from __future__ import annotations

import threading

from bot.runs.source_call import SourceThreads


def _run(threads: SourceThreads, job=None) -> str:
    done = threading.Event()
    names: list[str] = []

    def call() -> None:
        names.append(threading.current_thread().name)
        if job:
            job()
        done.set()

    threads.submit(call)
    assert done.wait(5)
    return names[0]


def test_an_idle_thread_serves_the_next_call_and_a_stuck_one_is_left_alone():
    threads = SourceThreads(idle_seconds=30)
    first = _run(threads)
    assert _run(threads) == first  # reused, not a new thread per call
    release = threading.Event()
    stuck = threading.Event()

    def hang() -> None:
        stuck.set()
        release.wait(10)  # an abandoned source keeps its thread

    threads.submit(hang)
    assert stuck.wait(5)
    other = _run(threads)
    assert other != first  # the hanging call holds its thread; the next call gets another
    release.set()


def test_idle_threads_end_after_a_while():
    threads = SourceThreads(idle_seconds=0.2)
    name = _run(threads)
    ended = threading.Event()

    def gone() -> None:
        while any(t.name == name for t in threading.enumerate()):
            threading.Event().wait(0.05)
        ended.set()

    threading.Thread(target=gone, daemon=True).start()
    assert ended.wait(5)
    assert _run(threads) != name  # a new thread for a call after the idle one ended
