"""Answers to the cooperation questionnaire, anonymous (no participant id, no date, random ids).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperation_answers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False),
        sa.Column("roles", sa.Integer(), nullable=False),
        sa.Column("constraints", sa.Integer(), nullable=False),
        sa.Column("language", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("neutrality", sa.Integer(), nullable=False),
        sa.Column("again", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_cooperation_answers_project_id", "cooperation_answers", ["project_id"])
    op.create_index(
        "ix_cooperation_answers_organisation_id", "cooperation_answers", ["organisation_id"]
    )


def downgrade() -> None:
    op.drop_table("cooperation_answers")
