"""411 for Slack: scheduled searches become alerts a security team acts on in Slack."""

__version__ = "0.1.0"
