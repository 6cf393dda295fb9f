"""accounts and replays

Revision ID: 20261207_0073
Revises: 20261207_0072

Why: a user can be disabled (users.disabled_at; their tokens end with it); a correct
password passes login limits an attacker could fill when it comes from a device token or
an address the user logged in from before (login_trust); and a provider's callback that acts (a key pressed in a call, a reply) acts once per the
provider's own ids however often it is replayed (provider_replies).
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import dispatcher.store.types

revision: str = '20261207_0073'
down_revision: str | None = '20261207_0072'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'provider_replies',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('received_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_provider_replies')),
    )
    op.create_table(
        'login_trust',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('last_at', dispatcher.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_trust_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_trust')),
    )
    with op.batch_alter_table('login_trust', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_trust_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('login_trust', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_trust_user_id'))
    op.drop_table('login_trust')
    op.drop_table('provider_replies')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
