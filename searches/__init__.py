"""Data sources for 411 searches.

A source turns a search's configuration and a time window into typed results
(hits, a count, or buckets). Sources are found through the ``411.searches``
entry-point group, so a separate package can add one without touching this
repository (see :mod:`searches.registry`).
"""
