"""The outbox and its delivery to Slack: the only writer of delivery rows."""
