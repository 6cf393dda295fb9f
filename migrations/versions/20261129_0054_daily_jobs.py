"""daily jobs

Revision ID: 20261129_0054
Revises: 20261129_0053

Why: the morning check-in summary goes once a day for the whole city; the row of a
(job, day) is the claim that makes it once, on any number of engines.
Create Date: 2026-11-30 09:00:04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0054'
down_revision: str | None = '20261129_0053'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daily_jobs',
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('done_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_daily_jobs'))
    )


def downgrade() -> None:
    op.drop_table('daily_jobs')
