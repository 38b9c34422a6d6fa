"""searches.origin: where an imported search came from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00

``411 import sigma`` keeps each rule's id as ``origin`` ("sigma:<rule id>"), so
importing the same rule again updates its search instead of adding a second
one, even when the rule's title (the search's name) changed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("searches") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=200), nullable=True))
        batch.create_index("ix_searches_origin", ["origin"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("searches") as batch:
        batch.drop_index("ix_searches_origin")
        batch.drop_column("origin")
