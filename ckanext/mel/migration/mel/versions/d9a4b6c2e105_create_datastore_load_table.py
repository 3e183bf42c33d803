"""Create the DataStore load state table

Revision ID: d9a4b6c2e105
Revises: c5d8f1e4a103
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "d9a4b6c2e105"
down_revision = "c5d8f1e4a103"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mel_datastore_load",
        sa.Column(
            "resource_id",
            sa.UnicodeText,
            sa.ForeignKey("resource.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.UnicodeText, nullable=False),
        sa.Column("data_model", sa.UnicodeText, nullable=False),
        sa.Column("fingerprint", sa.UnicodeText, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime),
        sa.Column("error", sa.UnicodeText),
    )


def downgrade():
    op.drop_table("mel_datastore_load")
