"""alarm since

Revision ID: 20261129_0062
Revises: 20261129_0061

Why: a terminal alone going offline gets its alarm only once the outage window shows it
is alone, minutes after it went down; the reports count its offline time from when it
went down, which the alarm keeps (outage members keep it in joined_at).
Create Date: 2026-11-29 19:48:33.668028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0062'
down_revision: str | None = '20261129_0061'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('since', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_column('since')

