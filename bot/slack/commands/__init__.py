"""The ``/411`` command: one Slack command, many subcommands, routed in ``router``."""
