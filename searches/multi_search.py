"""Searches due together, sent together: one ``_msearch`` per cluster instead of a request each.

At ten thousand searches a minute most of a run's own CPU is the cluster client's
per-request work (building, sending and parsing one HTTP request); a ``_msearch``
of eight searches costs about a sixth of that per search. The worker claims runs in
batches (bot/runs/batch.py) and hands their sources here, each with its
window. Those that can say in advance the one search their ``run`` will send
(``planned_search``: count, hits and single-field terms searches on Elasticsearch or
OpenSearch) are sent together, a ``_msearch`` per cluster, and each gets its answer
(``take_answer``); ``run`` then uses it instead of asking.

Batching never changes what a run finds, only how many requests carry it:

- an item's own error (a rejected query, a missing index) is raised by that
  source's ``run`` as if it had asked alone;
- when the request as a whole fails or takes longer than ``BATCH_TIMEOUT_SECONDS``,
  no source gets an answer and each asks on its own, under its own deadline; those
  sources are reported so the caller can keep them out of the next batches (a slow
  search would otherwise hold every batch it is in).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from searches.base import Source, SourceError, TimeWindow
from searches.cluster_client import Answer, ClusterRequestError
from searches.elasticsearch import ElasticsearchSource

log = logging.getLogger(__name__)

# A batch waits for its slowest search; past this the batch is dropped and each asks alone.
BATCH_TIMEOUT_SECONDS = 2.0


@dataclass
class Prefetched:
    """Which sources got their answer, and which were in a batch that failed as a whole.

    ``took_ms``: per answered source (by ``id``), how long the cluster says its own
    search took, which tells the slow member of a slow batch.
    """

    answered: list[Source] = field(default_factory=list)
    failed: list[Source] = field(default_factory=list)
    took_ms: dict[int, float] = field(default_factory=dict)


def prefetch(jobs: Sequence[tuple[Source, TimeWindow]]) -> Prefetched:
    """Answer the jobs' searches, one ``_msearch`` per cluster."""
    by_cluster: dict[str, list[tuple[ElasticsearchSource, dict[str, Any]]]] = {}
    for source, window in jobs:
        if not isinstance(source, ElasticsearchSource):
            continue
        body = source.planned_search(window)
        if body is not None:
            by_cluster.setdefault(source.config.cluster, []).append((source, body))
    outcome = Prefetched()
    for cluster, members in by_cluster.items():
        if len(members) > 1:  # a lone search asks on its own: the same one request
            sources = [source for source, _ in members]
            took = _send(cluster, members)
            if took is None:
                outcome.failed += sources
                continue
            outcome.answered += sources
            outcome.took_ms.update((id(s), ms) for s, ms in zip(sources, took, strict=True))
    return outcome


def _send(
    cluster: str, members: list[tuple[ElasticsearchSource, dict[str, Any]]]
) -> list[float] | None:
    """Each member's search time if the batch was answered (each source holds its answer)."""
    timeout = min(BATCH_TIMEOUT_SECONDS, *(s.config.timeout_seconds for s, _ in members))
    try:
        client = members[0][0].client(timeout)  # shared, per cluster and timeout
        answers = client.msearch([(source.config.index, body) for source, body in members])
    except (ClusterRequestError, SourceError) as exc:
        log.info("multi-search on cluster %r failed (each search asks alone): %s", cluster, exc)
        return None
    if len(answers) != len(members):  # not what _msearch promises: trust none of it
        count = f"{len(answers)} answers to {len(members)} searches"
        log.warning("multi-search on cluster %r: %s; each asks alone", cluster, count)
        return None
    for (source, body), answer in zip(members, answers, strict=True):
        source.take_answer(body, answer)
    return [_took(answer) for answer in answers]


def _took(answer: Answer) -> float:
    took = answer.get("took") if not isinstance(answer, ClusterRequestError) else None
    return float(took) if isinstance(took, int | float) else 0.0
