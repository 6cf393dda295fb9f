"""daily care and reports

Revision ID: 20261129_0010
Revises: 20261129_0005

Why: daily care (docs/daily-care.md) needs check-in windows and pauses and a default service
per resident, arrival and service state per alarm, and outages that hold many terminals;
reports count per community and day, so an alarm keeps the community it belongs to
(an outage has no resident), filled in here for the alarms that exist.
Create Date: 2026-11-29 18:07:49.431949
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261129_0010'
down_revision: str | None = '20261129_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outage_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('joined_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarms.id'], name=op.f('fk_outage_members_alarm_id_alarms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outage_members'))
    )
    with op.batch_alter_table('outage_members', schema=None) as batch_op:
        batch_op.create_index('ix_outage_members_alarm', ['alarm_id', 'left_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outage_members_device_id'), ['device_id'], unique=False)

    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('arrived_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('arrived_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('provider_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('service_state', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_alarms_community_id'), ['community_id'], unique=False)

    op.execute(
        "UPDATE alarms SET community_id = "
        "(SELECT residents.community_id FROM residents WHERE residents.id = alarms.resident_id) "
        "WHERE resident_id IS NOT NULL"
    )

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_window', sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column('checkin_paused_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('checkin_pause_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('service_default', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('service_default')
        batch_op.drop_column('checkin_pause_reason')
        batch_op.drop_column('checkin_paused_until')
        batch_op.drop_column('checkin_window')

    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarms_community_id'))
        batch_op.drop_column('service_state')
        batch_op.drop_column('provider_id')
        batch_op.drop_column('arrived_by')
        batch_op.drop_column('arrived_at')
        batch_op.drop_column('community_id')

    with op.batch_alter_table('outage_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outage_members_device_id'))
        batch_op.drop_index('ix_outage_members_alarm')

    op.drop_table('outage_members')
