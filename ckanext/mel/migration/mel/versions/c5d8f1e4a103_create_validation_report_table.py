"""Create the resource validation report table

Revision ID: c5d8f1e4a103
Revises: b7c3e2a9d002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "c5d8f1e4a103"
down_revision = "b7c3e2a9d002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mel_validation_report",
        sa.Column(
            "resource_id",
            sa.UnicodeText,
            sa.ForeignKey("resource.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "package_id",
            sa.UnicodeText,
            sa.ForeignKey("package.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("status", sa.UnicodeText, nullable=False),
        sa.Column("data_model", sa.UnicodeText, nullable=False),
        sa.Column("fingerprint", sa.UnicodeText, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime),
        sa.Column("report", sa.UnicodeText, nullable=False, server_default="{}"),
        sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade():
    op.drop_table("mel_validation_report")
