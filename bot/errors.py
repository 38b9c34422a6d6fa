"""One exception base for the bot: errors are classified, and the user sees ``message``."""

from __future__ import annotations


class BotError(Exception):
    """A failure with a message fit for the user.

    ``permanent`` says whether retrying the same thing can help: a bad query is
    permanent, a timeout talking to Elasticsearch or Slack is not.
    """

    permanent: bool = True

    def __init__(self, message: str, *, permanent: bool | None = None):
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent


class ConfigurationError(BotError):
    """The environment does not describe a usable configuration."""


class DatabaseError(BotError):
    """The database cannot be reached or is not in the expected state."""


class SchemaBehindError(DatabaseError):
    """The database schema is older than the code: ``411 db upgrade`` is needed."""


class PermissionDenied(BotError):
    """The acting user may not do this."""


class NotFound(BotError):
    """The thing the user named does not exist."""


class InvalidInput(BotError):
    """The user's input is invalid; ``field`` names the offending part when known."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field
