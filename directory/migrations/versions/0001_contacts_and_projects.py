"""Contacts (one row per participant per project) and projects (closing dates for retention).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("participant_id", sa.String(64), primary_key=True),
        sa.Column("person_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("email_key", sa.String(254)),
        sa.Column("phone", sa.String(40)),
        sa.Column("webhook_url", sa.Text()),
        sa.Column("webhook_secret", sa.String(200)),
        sa.Column("write_key", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("project_id", "email_key", name="uq_contacts_project_email"),
    )
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("coordinator_organisation", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("contacts_erased_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_projects_closed_at", "projects", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_projects_closed_at", table_name="projects")
    op.drop_table("projects")
    op.drop_table("contacts")
