"""The written sections of region profiles (goals, needs, local resources, free sections),
versioned in the shared history like projects and events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _user(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey("users.id"))


def upgrade() -> None:
    op.create_table(
        "profile_sections",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "region_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.Text, nullable=False, comment="ziele, handlungsbedarfe, … or frei-N"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False, server_default="", comment="Markdown"),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "districts",
            ARRAY(sa.Text),
            nullable=False,
            comment="the district the region lies in: who may edit",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        _user("created_by"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        _user("updated_by"),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        _user("deleted_by"),
        sa.CheckConstraint("key ~ '^[a-z][a-z0-9-]{0,40}$'", name="profile_section_key"),
    )
    op.create_index(
        "profile_sections_region_key", "profile_sections", ["region_id", "key"], unique=True
    )
    op.drop_constraint("history_entity", "history")
    op.create_check_constraint(
        "history_entity", "history", "entity IN ('project', 'event', 'section')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM history WHERE entity = 'section'")
    op.drop_constraint("history_entity", "history")
    op.create_check_constraint("history_entity", "history", "entity IN ('project', 'event')")
    op.drop_table("profile_sections")
