"""When a participant's webhook answered 410 Gone: no more deliveries until they set one again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contacts", sa.Column("webhook_disabled_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("contacts", "webhook_disabled_at")
