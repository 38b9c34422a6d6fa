"""one running run per search, enforced; an index of snoozes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 02:25:00

``uq_search_runs_one_running``: the claim already never starts a second run of a
search while one runs; the database now refuses it too, so no race between
workers can make two runs of one search overlap. ``ix_alerts_snoozed_until``:
the worker's periodic look for ended snoozes is a range scan of the snoozed
alerts, not of every open alert.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_RUNNING = sa.text("status = 'running'")
SNOOZED = sa.text("snoozed_until IS NOT NULL")


def upgrade() -> None:
    # Only a race could have left two running runs of one search: keep the newest.
    op.execute(
        "UPDATE search_runs SET status = 'failed', error = 'overlapped a newer run' "
        "WHERE status = 'running' AND id NOT IN "
        "(SELECT max(id) FROM search_runs WHERE status = 'running' GROUP BY search_id)"
    )
    op.create_index(
        "uq_search_runs_one_running",
        "search_runs",
        ["search_id"],
        unique=True,
        sqlite_where=ONE_RUNNING,
        postgresql_where=ONE_RUNNING,
    )
    op.create_index(
        "ix_alerts_snoozed_until",
        "alerts",
        ["snoozed_until"],
        unique=False,
        sqlite_where=SNOOZED,
        postgresql_where=SNOOZED,
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_snoozed_until", table_name="alerts")
    op.drop_index("uq_search_runs_one_running", table_name="search_runs")
