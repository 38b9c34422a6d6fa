"""Sources over the bot's own database: alerts (a search over alerts) and push events.

They read the bot's tables, so they live in ``bot/`` rather than ``searches/`` (which
depends on nothing in ``bot/``), and register under the same ``411.searches``
entry-point group as every other source.
"""
