"""digest indexes: per-priority range counts over created/acknowledged/resolved times

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:10:00

The digest counts alerts per priority whose timestamp falls in a period, and sums the
time from creation. With ``priority`` first and ``created_at`` carried along, each
count is a range scan of one index that never visits the table (SQLite "covering
index", Postgres index-only scan). ``resolved_at, search_id, resolution, resolved_by``
serves the tuning candidates and top resolvers the same way, and
``search_id, created_at, occurrences`` the noisiest searches. Measured by
``bench/digest_bench.py`` (1,000,000 alerts).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_alerts_priority_created_at": ["priority", "created_at"],
    "ix_alerts_priority_acknowledged_at": ["priority", "acknowledged_at", "created_at"],
    "ix_alerts_priority_resolved_at": ["priority", "resolved_at", "created_at"],
    "ix_alerts_resolved_at_search_id": ["resolved_at", "search_id", "resolution", "resolved_by"],
    "ix_alerts_search_id_created_at_occurrences": ["search_id", "created_at", "occurrences"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "alerts", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="alerts")
