"""Who is credited for an indicator's values in a region system: the statistics source that
loaded them (its title, licence and attribution), not the catalog the indicator is described in;
and regions found by code within a system (a parent may lie more than one level up).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_credits",
        sa.Column(
            "indicator_id",
            sa.Integer,
            sa.ForeignKey("indicators.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "system_id",
            sa.Integer,
            sa.ForeignKey("region_systems.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("licence", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id"), nullable=False),
        sa.PrimaryKeyConstraint("indicator_id", "system_id", "source_key"),
    )
    # parents are found by code at the nearest coarser level that has it (layers.levels)
    op.create_index("regions_system_code", "regions", ["system_id", "code"])


def downgrade() -> None:
    op.drop_index("regions_system_code", "regions")
    op.drop_table("indicator_credits")
