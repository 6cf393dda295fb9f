"""phone opt-outs

Revision ID: 20261127_0003
Revises: 20261127_0002

Why: relatives and workers can reply STOP to the SMS (issue 4); we must not text or
call them again until they reply START.
Create Date: 2026-11-27 07:17:39.234220
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261127_0003'
down_revision: str | None = '20261127_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('phone_optouts',
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('opted_out_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone', name=op.f('pk_phone_optouts'))
    )



def downgrade() -> None:

    op.drop_table('phone_optouts')

