"""Create the per-commune quota table

Revision ID: b7c3e2a9d002
Revises: a1e0c0d5e001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "b7c3e2a9d002"
down_revision = "a1e0c0d5e001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mel_quota",
        sa.Column(
            "organization_id",
            sa.UnicodeText,
            sa.ForeignKey("group.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("maximum", sa.Integer, nullable=False),
    )
    # The quota counts a commune's datasets in one indexed query.
    op.create_index("idx_mel_package_owner_org_state", "package", ["owner_org", "state"])


def downgrade():
    op.drop_index("idx_mel_package_owner_org_state", table_name="package")
    op.drop_table("mel_quota")
