"""Create the metropolitan consolidation table

Revision ID: e3b8f6a1c207
Revises: d9a4b6c2e105
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "e3b8f6a1c207"
down_revision = "d9a4b6c2e105"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mel_consolidation",
        sa.Column("data_model", sa.UnicodeText, primary_key=True),
        sa.Column("package_id", sa.UnicodeText, sa.ForeignKey("package.id", ondelete="SET NULL")),
        sa.Column("file_resource_id", sa.UnicodeText),
        sa.Column("table_resource_id", sa.UnicodeText),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sources", sa.UnicodeText, server_default="[]"),
        sa.Column("invalid", sa.UnicodeText, server_default="[]"),
        sa.Column("since", sa.UnicodeText, server_default="{}"),
        sa.Column("built", sa.DateTime),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.UnicodeText),
    )


def downgrade():
    op.drop_table("mel_consolidation")
