"""Accounts that hold: API tokens expire (existing ones 90 days from now), failed sign-ins are
recorded per account and address for throttling (shared by every worker process).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.add_column("api_tokens", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE api_tokens SET expires_at = now() + interval '90 days'")
    op.alter_column("api_tokens", "expires_at", nullable=False)
    op.create_index("api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
    )
    op.create_index("sign_in_failures_username", "sign_in_failures", ["username", "at"])
    op.create_index("sign_in_failures_address", "sign_in_failures", ["address", "at"])
    op.create_index("sign_in_failures_at", "sign_in_failures", ["at"])


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_index("api_tokens_user", "api_tokens")
    op.drop_column("api_tokens", "last_used_at")
    op.drop_column("api_tokens", "expires_at")
