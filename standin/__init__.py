"""A local stand-in for slack.com: Web API, limits, rate limits, signed deliveries, a page.

See `standin.py` for the entry point and `uiapi.py` for the page's JSON API.
"""

from standin.delivery import BotReply, Tamper
from standin.ratelimit import RateLimits
from standin.standin import SlackStandIn

__all__ = ["BotReply", "RateLimits", "SlackStandIn", "Tamper"]
