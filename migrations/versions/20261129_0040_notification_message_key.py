"""notification message in the outbox key

Revision ID: 20261129_0040
Revises: 20261129_0062

Why: the outbox's unique key did not say which message a row is, so a terminal's
`alarm_closed` after its `help_coming` (both commands to it about one alarm) counted as
the same message and was dropped, and on PostgreSQL closing right after taking could
deadlock with the notifier updating the first row (both writing the same key into the
unique index). The key now includes the message (the command's type).
Create Date: 2026-11-29 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261129_0040"
down_revision: str | None = "20261129_0062"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KEY = ["alarm_id", "purpose", "round", "step", "recipient_key", "channel"]


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message", sa.String(length=32), server_default="", nullable=False)
        )
    bind = op.get_bind()
    # the commands already queued say which they are in their body
    if bind.dialect.name == "postgresql":
        op.execute(
            "UPDATE notifications SET message = body->>'type' "
            "WHERE purpose = 'command' AND body->>'type' IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE notifications SET message = json_extract(body, '$.type') "
            "WHERE purpose = 'command' AND json_extract(body, '$.type') IS NOT NULL"
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_once", type_="unique")
        batch_op.create_unique_constraint("uq_notifications_once", [*_OLD_KEY, "message"])


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_once", type_="unique")
    # the old key holds one command per terminal and alarm: keep the first
    op.execute(
        "DELETE FROM notifications WHERE purpose = 'command' AND id NOT IN "
        "(SELECT min(id) FROM notifications WHERE purpose = 'command' "
        "GROUP BY alarm_id, recipient_key, channel, round, step)"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_notifications_once", _OLD_KEY)
        batch_op.drop_column("message")
