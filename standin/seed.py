"""The workspace every stand-in starts with: team T0411, a few people, three channels."""

from __future__ import annotations

from standin.model import BOT_USER_ID, Channel, User, Usergroup

USERS = [
    User(id="U_ALICE", name="alice", real_name="Alice Admin", is_admin=True),
    User(id="U_BOB", name="bob", real_name="Bob Builder"),
    User(id="U_CAROL", name="carol", real_name="Carol Analyst"),
    # Dave is in the workspace but in none of the channels: useful for permission tests.
    User(id="U_DAVE", name="dave", real_name="Dave Outsider"),
    User(id=BOT_USER_ID, name="411", real_name="411", is_bot=True),
]

_MEMBERS = {"U_ALICE", "U_BOB", "U_CAROL", BOT_USER_ID}

CHANNELS = [
    Channel(id="C_ALERTS", name="alerts", members=set(_MEMBERS), topic="Alerts from 411"),
    Channel(id="C_DIGEST", name="digest", members=set(_MEMBERS), topic="Daily digest"),
    Channel(id="C_GENERAL", name="general", members=set(_MEMBERS) | {"U_DAVE"}),
]

USERGROUPS = [
    Usergroup(id="S_ONCALL", handle="oncall", name="On-call", users=["U_ALICE", "U_BOB"]),
    Usergroup(id="S_SECURITY", handle="security", name="Security", users=["U_ALICE", "U_CAROL"]),
]
