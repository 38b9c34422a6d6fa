"""Text in and out: escaping for mrkdwn, user templates, typed times."""
