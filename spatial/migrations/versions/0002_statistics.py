"""Indicator catalog and long-format statistics.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("catalog", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("name_de", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("aggregation", sa.Text, nullable=False),
        sa.Column("numerator", sa.Text),
        sa.Column("denominator", sa.Text),
        sa.Column("weight", sa.Text),
        sa.Column("polarity", sa.Text, nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("licence", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("min_population", sa.Integer),
        sa.Column("definition", JSONB),
        sa.CheckConstraint(
            "kind IN ('count', 'share', 'rate', 'mean', 'index', 'class')", name="indicator_kind"
        ),
        sa.CheckConstraint(
            "aggregation IN ('sum', 'ratio', 'weighted_mean', 'none')", name="indicator_agg"
        ),
        sa.CheckConstraint(
            "polarity IN ('higher_is_better', 'higher_is_worse', 'neutral')",
            name="indicator_polarity",
        ),
    )
    op.create_table(
        "statistic_values",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "indicator_id",
            sa.Integer,
            sa.ForeignKey("indicators.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "region_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("period", sa.Date, nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id"), nullable=False),
        sa.UniqueConstraint("indicator_id", "region_id", "period"),
        sa.CheckConstraint("status IN ('valid', 'no_data', 'suppressed')", name="statistic_status"),
        sa.CheckConstraint(
            "(status = 'valid') = (value IS NOT NULL)", name="statistic_value_iff_valid"
        ),
    )
    op.create_index("statistic_values_lookup", "statistic_values", ["indicator_id", "period"])
    op.create_index("statistic_values_region", "statistic_values", ["region_id"])


def downgrade() -> None:
    op.drop_table("statistic_values")
    op.drop_table("indicators")
