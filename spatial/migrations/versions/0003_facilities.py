"""Social-infrastructure facilities and their regions at every level.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _srid() -> int:
    stored = op.get_bind().execute(sa.text("SELECT value FROM store_meta WHERE key = 'srid'"))
    return int(stored.scalar_one())


def upgrade() -> None:
    op.create_table(
        "facility_categories",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("label_de", sa.Text, nullable=False),
        sa.Column("plural_de", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("capacity_unit", sa.Text),
        sa.Column("capacity_key", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
    )
    op.create_table(
        "facilities",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("category", sa.Text, sa.ForeignKey("facility_categories.key"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text),
        sa.Column("capacity", sa.Integer),
        sa.Column("provider", sa.Text),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("valid_on", sa.Date, comment="the date the source describes, when it says"),
        sa.Column(
            "period",
            sa.Date,
            nullable=False,
            comment="period of the derived indicators: valid_on, else the load date",
        ),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id"), nullable=False),
        sa.Column(
            "geom",
            Geometry("POINT", srid=_srid(), spatial_index=False),
            nullable=False,
        ),
        sa.UniqueConstraint("source", "source_id"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="facility_capacity"),
    )
    op.create_index("facilities_geom", "facilities", ["geom"], postgresql_using="gist")
    op.create_index("facilities_category", "facilities", ["category", "period"])
    op.create_table(
        "facility_regions",
        sa.Column(
            "facility_id",
            sa.BigInteger,
            sa.ForeignKey("facilities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "region_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("level_id", sa.Integer, sa.ForeignKey("region_levels.id"), nullable=False),
        sa.UniqueConstraint("facility_id", "level_id"),
    )
    op.create_index("facility_regions_region", "facility_regions", ["region_id"])


def downgrade() -> None:
    op.drop_table("facility_regions")
    op.drop_table("facilities")
    op.drop_table("facility_categories")
