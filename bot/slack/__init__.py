"""The Slack surface: Bolt app, /411 commands, alert messages, App Home, outbox delivery."""
