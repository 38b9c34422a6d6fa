"""when a delivery's last attempt at Slack ended

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:45:00

``deliveries.attempted_at``: a look at a channel for earlier posts answers for every
ambiguous delivery whose last attempt ended before the look, so after an outage one
``conversations.history`` call per channel replaces one per delivery.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("attempted_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("attempted_at")
