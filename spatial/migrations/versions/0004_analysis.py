"""Analysis layer: derived indicators and boundary-version crosswalks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 'derived': evaluated at every level from its inputs at that level (see layers.derived)
    op.drop_constraint("indicator_agg", "indicators", type_="check")
    op.create_check_constraint(
        "indicator_agg",
        "indicators",
        "aggregation IN ('sum', 'ratio', 'weighted_mean', 'none', 'derived')",
    )
    op.create_table(
        "crosswalks",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column(
            "source_level_id",
            sa.Integer,
            sa.ForeignKey("region_levels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "target_level_id",
            sa.Integer,
            sa.ForeignKey("region_levels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sliver_m2", sa.Float, nullable=False),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id"), nullable=False),
        sa.UniqueConstraint("source_level_id", "target_level_id"),
    )
    op.create_table(
        "crosswalk_pieces",
        sa.Column(
            "crosswalk_id",
            sa.Integer,
            sa.ForeignKey("crosswalks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "source_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "target_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("source_share", sa.Float, nullable=False),
        sa.Column("target_share", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("crosswalk_id", "source_id", "target_id"),
        sa.CheckConstraint("area_m2 > 0", name="crosswalk_piece_area"),
    )
    op.create_index("crosswalk_pieces_target", "crosswalk_pieces", ["crosswalk_id", "target_id"])


def downgrade() -> None:
    op.drop_table("crosswalk_pieces")
    op.drop_table("crosswalks")
    op.drop_constraint("indicator_agg", "indicators", type_="check")
    op.create_check_constraint(
        "indicator_agg", "indicators", "aggregation IN ('sum', 'ratio', 'weighted_mean', 'none')"
    )
