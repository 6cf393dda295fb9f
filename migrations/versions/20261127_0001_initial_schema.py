"""initial schema: city, terminals, alarms, event log, users

Revision ID: 20261127_0001
Revises: (none)

Why: the alarm path (issue 2) needs the city, terminals, alarms, the append-only event
log and dashboard users.
Create Date: 2026-11-27 07:00:18.385620
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import dispatcher.store.types

revision: str = '20261127_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('communities',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('street', sa.String(length=128), nullable=False),
    sa.Column('district', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communities'))
    )
    op.create_table('event_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('alarm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log'))
    )
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.create_index('ix_event_log_alarm', ['alarm_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_log_at'), ['at'], unique=False)
        batch_op.create_index('uq_event_log_device_event', ['device_id', 'event_id'], unique=True, postgresql_where=sa.text("kind = 'device_event'"), sqlite_where=sa.text("kind = 'device_event'"))

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_api_tokens'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('providers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_providers_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_providers'))
    )
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_providers_community_id'), ['community_id'], unique=False)

    op.create_table('residents',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=256), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('medical', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_residents_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residents_community_id'), ['community_id'], unique=False)

    op.create_table('workers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('community_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('shifts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_workers_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workers_community_id'), ['community_id'], unique=False)

    op.create_table('alarms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('resident_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=128), nullable=True),
    sa.Column('resolved_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=128), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('cancel_requested_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_started', sa.Boolean(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('next_step_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_exhausted', sa.Boolean(), nullable=False),
    sa.Column('ack_overdue_alerted_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_alarms_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarms'))
    )
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarms_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_alarms_next_step_at', ['next_step_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarms_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index('ix_alarms_status_created', ['status', 'created_at'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('relation', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_contacts_resident_id_residents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('resident_id', 'priority', name=op.f('uq_contacts_resident_id'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_contacts_resident_id'), ['resident_id'], unique=False)

    op.create_table('terminals',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.String(length=64), nullable=True),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('last_seen', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('battery', sa.Integer(), nullable=True),
    sa.Column('rssi', sa.Integer(), nullable=True),
    sa.Column('power', sa.String(length=16), nullable=True),
    sa.Column('fw', sa.String(length=32), nullable=True),
    sa.Column('status_changed_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_terminals_resident_id_residents')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_terminals')),
    sa.UniqueConstraint('resident_id', name=op.f('uq_terminals_resident_id'))
    )
    


def downgrade() -> None:
    
    op.drop_table('terminals')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_resident_id'))
        batch_op.drop_index(batch_op.f('ix_contacts_phone'))

    op.drop_table('contacts')
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_index('ix_alarms_status_created')
        batch_op.drop_index(batch_op.f('ix_alarms_resident_id'))
        batch_op.drop_index('ix_alarms_next_step_at')
        batch_op.drop_index(batch_op.f('ix_alarms_device_id'))

    op.drop_table('alarms')
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workers_community_id'))

    op.drop_table('workers')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_community_id'))

    op.drop_table('residents')
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_providers_community_id'))

    op.drop_table('providers')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.drop_index('uq_event_log_device_event', postgresql_where=sa.text("kind = 'device_event'"), sqlite_where=sa.text("kind = 'device_event'"))
        batch_op.drop_index(batch_op.f('ix_event_log_at'))
        batch_op.drop_index('ix_event_log_alarm')

    op.drop_table('event_log')
    op.drop_table('communities')
    
