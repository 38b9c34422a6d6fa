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
- ``:chart``   UPLOAD, not shared to any channel, payload ``{"filename", "title",
  "content_b64", "share": false}``; once sent, ``payload["file_id"]`` names the file.
- ``:post``    MESSAGE, ``parent_delivery_id`` = the chart, payload ``{"text", "blocks",
  "image": {"at", "alt_text"}}``: it waits for the upload and shows the file in an image
  block at ``at`` (without a chart: no parent, no image).
- ``:details`` THREAD_REPLY, ``parent_delivery_id`` = the post, payload ``{"text", "blocks"}``.
A preview uploads its chart itself and shows it in its answer the same way.
"""
