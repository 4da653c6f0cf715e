"""Display geometry of regions: simplified, in EPSG:4326, kept in step with ``geom`` by
PostgreSQL itself (a stored generated column), so maps never simplify on request.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Metres in the store's projected CRS: below one screen pixel up to zoom 15 at 52° north.
DISPLAY_TOLERANCE_M = 5


def upgrade() -> None:
    op.execute(
        "ALTER TABLE regions ADD COLUMN geom_display geometry(MultiPolygon, 4326) "
        "GENERATED ALWAYS AS (ST_Multi(ST_Transform("
        f"ST_SimplifyPreserveTopology(geom, {DISPLAY_TOLERANCE_M}), 4326))) STORED"
    )
    op.create_index(
        "regions_geom_display_gist", "regions", ["geom_display"], postgresql_using="gist"
    )
    op.create_index("regions_level_code", "regions", ["level_id", "code"])


def downgrade() -> None:
    op.drop_index("regions_level_code", "regions")
    op.drop_index("regions_geom_display_gist", "regions")
    op.drop_column("regions", "geom_display")
