"""check-in deadlines

Revision ID: 20261129_0050
Revises: 20261129_0010

Why: a missed check-in is raised by the engine at the end of the resident's window
(docs/daily-care.md); that deadline lives in the database like every other, and the last
press that counts is kept on the resident so the decision needs no scan of the event
log. One open missed check-in per resident, whatever two engines decide at once.
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0050'
down_revision: str | None = '20261129_0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_due_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_press_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_residents_checkin_due_at'), ['checkin_due_at'], unique=False)

    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(
            'uq_alarms_open_missed_checkin',
            ['resident_id'],
            unique=True,
            postgresql_where=sa.text("type = 'missed_checkin' AND status <> 'resolved'"),
            sqlite_where=sa.text("type = 'missed_checkin' AND status <> 'resolved'"),
        )


def downgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index('uq_alarms_open_missed_checkin')

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_checkin_due_at'))
        batch_op.drop_column('last_press_at')
        batch_op.drop_column('checkin_due_at')
