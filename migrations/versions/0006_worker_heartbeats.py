"""worker heartbeats; a delivery's retry horizon restarts when an operator re-sends it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:10:00

``worker_heartbeats``: every worker process (search runs, delivery loop) writes its
row every few seconds. A run or a delivery claimed by a worker whose heartbeat
stopped is taken back within seconds instead of after its timeout.
``deliveries.retry_since``: when a given-up delivery is re-sent, its retry horizon
counts from then (``created_at`` stays: the look-up for an earlier post needs it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("retry_since", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("retry_since")
    op.drop_table("worker_heartbeats")
