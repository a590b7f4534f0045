"""Find a person's participations by e-mail ("send me my link again").

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_contacts_email_key", "contacts", ["email_key"])


def downgrade() -> None:
    op.drop_index("ix_contacts_email_key", table_name="contacts")
