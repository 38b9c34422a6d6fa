"""The alert pipeline, one module per rule.

condition -> key -> suppress -> dedupe -> renotify -> autoclose -> auto-resolve
-> burst grouping. ``decide`` computes a :class:`Plan` reading the database but
writing nothing (that is what a preview shows); ``apply_plan`` writes it, with
the deliveries towards Slack, in the caller's transaction. A real run and a
preview therefore share every decision.
"""

from bot.alerts.close import Closing
from bot.pipeline.apply import apply_plan
from bot.pipeline.decide import SearchSpec, decide
from bot.pipeline.plan import NewAlert, Plan, SeenAgain

__all__ = ["Closing", "NewAlert", "Plan", "SearchSpec", "SeenAgain", "apply_plan", "decide"]
