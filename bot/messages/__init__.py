"""What the bot posts: Block Kit builders for alerts and bursts, their action IDs, confirm dialogs, and Slack's limits on a payload.

The delivery loop renders messages here at send time and the Slack listeners build replies here; neither depends on the other for it."""
