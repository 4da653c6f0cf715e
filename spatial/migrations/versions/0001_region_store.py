"""Region systems, levels, regions and ingest runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import context, op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    srid = int(context.config.attributes["srid"])  # always given by spatial.store.migrate
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "store_meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.execute(
        sa.text("INSERT INTO store_meta (key, value) VALUES ('srid', :srid)").bindparams(
            srid=str(srid)
        )
    )

    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("counts", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("report", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("status IN ('ok', 'warnings')", name="ingest_runs_status"),
    )
    op.create_index("ingest_runs_kind_source", "ingest_runs", ["kind", "source", "id"])

    op.create_table(
        "region_systems",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("key", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("city", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("source", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("licence", sa.Text),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id")),
        sa.CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from"),
    )

    op.create_table(
        "region_levels",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column(
            "system_id",
            sa.Integer,
            sa.ForeignKey("region_systems.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("code_length", sa.Integer),
        sa.Column("source", sa.Text),
        sa.Column("attribution", sa.Text),
        sa.Column("licence", sa.Text),
        sa.UniqueConstraint("system_id", "key"),
        sa.UniqueConstraint("system_id", "rank"),
    )

    op.create_table(
        "regions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "system_id",
            sa.Integer,
            sa.ForeignKey("region_systems.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "level_id",
            sa.Integer,
            sa.ForeignKey("region_levels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_code", sa.Text),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=srid, spatial_index=False), nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("run_id", sa.BigInteger, sa.ForeignKey("ingest_runs.id"), nullable=False),
        sa.UniqueConstraint("system_id", "level_id", "code"),
        sa.CheckConstraint("code <> ''", name="regions_code_not_empty"),
    )
    op.create_index("regions_geom_gist", "regions", ["geom"], postgresql_using="gist")
    op.create_index("regions_parent", "regions", ["system_id", "parent_code"])


def downgrade() -> None:
    op.drop_table("regions")
    op.drop_table("region_levels")
    op.drop_table("region_systems")
    op.drop_table("ingest_runs")
    op.drop_table("store_meta")
