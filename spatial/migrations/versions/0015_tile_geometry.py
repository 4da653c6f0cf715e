"""Region geometries in Web Mercator for vector tiles: a tile clips, simplifies and encodes them
as they are, where it transformed every clipped shape on every request before (a third of
what a tile cost).

They are kept in a table of their own, filled after a load has committed (by the store
refresh, ``spatial.tile_shapes``), not computed inside the load: the transformation doubled
what writing a large level cost. A region without its shape yet is cut from ``geom`` as before;
a region whose geometry changes loses its shape until the next refresh. Shapes are simplified
by 4 cm first, half a tile unit at zoom 16 (finer zooms are cut from ``geom``): that halves the
vertices of surveyed boundaries. Stored out of line without compression, like ``geom`` (0013).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE region_tile_shapes (
    region_id integer PRIMARY KEY REFERENCES regions(id) ON DELETE CASCADE,
    geom geometry(MultiPolygon, 3857) NOT NULL
);
ALTER TABLE region_tile_shapes ALTER COLUMN geom SET STORAGE EXTERNAL;
CREATE FUNCTION sz_drop_tile_shape() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM region_tile_shapes WHERE region_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_tile_shape_stale AFTER UPDATE OF geom ON regions
    FOR EACH ROW WHEN (NEW.geom IS DISTINCT FROM OLD.geom) EXECUTE FUNCTION sz_drop_tile_shape();
"""
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER regions_tile_shape_stale ON regions; DROP FUNCTION sz_drop_tile_shape(); "
        "DROP TABLE region_tile_shapes"
    )
