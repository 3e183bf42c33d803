"""Create the enrolment and commune history tables

Revision ID: a1e0c0d5e001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "a1e0c0d5e001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mel_enrolment",
        sa.Column(
            "organization_id",
            sa.UnicodeText,
            sa.ForeignKey("group.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("ended_on", sa.Date, nullable=True),
        sa.Column("permanent", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "mel_commune_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "organization_id",
            sa.UnicodeText,
            sa.ForeignKey("group.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("action", sa.UnicodeText, nullable=False),
        sa.Column("timestamp", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.UnicodeText, nullable=True),
        sa.Column("reason", sa.UnicodeText, nullable=False, server_default=""),
        sa.Column("data", sa.UnicodeText, nullable=False, server_default="{}"),
    )
    op.create_index("idx_mel_commune_history_org", "mel_commune_history", ["organization_id", "timestamp"])


def downgrade():
    op.drop_table("mel_commune_history")
    op.drop_table("mel_enrolment")
