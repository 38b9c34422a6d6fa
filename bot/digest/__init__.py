"""The daily (and weekly) digest: the post a manager reads in ten seconds.

- ``figures``: the numbers for a period and the one before, by aggregate SQL only.
- ``sql``: ``seconds_between`` (the one dialect difference) and per-priority range counts.
- ``chart``: alerts per day by priority over 14 days, with the open backlog, as a PNG.
- ``render``: the top post and the thread details as Block Kit, all data escaped.
- ``periods``: which period is due for a subscription (time of day, time zone, Mondays).
- ``compose``: figures + chart + messages, and the outbox rows that post them.
- ``scheduler``: ``DigestScheduler(runtime)`` posts each period exactly once.
- ``commands``: ``digest_command`` behind ``/411 digest``.

Outbox rows one digest makes (keys ``digest:<channel>:<daily|weekly>:<start iso>:...``):
- ``:post``    MESSAGE, payload ``{"text", "blocks"}``.
- ``:details`` THREAD_REPLY, ``parent_delivery_id`` = the post, payload ``{"text", "blocks"}``.
- ``:chart``   UPLOAD, ``parent_delivery_id`` = the post, payload ``{"filename", "title",
  "content_b64", "initial_comment", "thread_parent_delivery_id"}``.
A preview's chart is an UPLOAD without a parent whose channel is the caller's user ID.
"""
