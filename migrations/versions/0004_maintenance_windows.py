"""maintenance windows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:20:00

A planned silence with a start and an end over every search, named searches or
tagged ones (``/411 maintenance``); what it silenced is counted on the row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = bot.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", when, nullable=False),
        sa.Column("ends_at", when, nullable=False),
        sa.Column("everything", sa.Boolean(), nullable=False),
        sa.Column("search_ids", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("cancelled_at", when, nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("suppressed_count", sa.Integer(), nullable=False),
        sa.Column("start_announced_at", when, nullable=True),
        sa.Column("end_announced_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_maintenance_windows_ends_at_starts_at", ["ends_at", "starts_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_maintenance_windows_ends_at_starts_at")
    op.drop_table("maintenance_windows")
