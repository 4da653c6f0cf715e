"""The Web Mercator shapes vector tiles are cut from (``region_tile_shapes``, migration 0015):
filled for every region that has none, after the load that wrote the regions has committed,
so that the transformation is no part of what a load costs. Tiles read a region's shape where
it exists and transform its stored geometry where it does not yet."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.tiles import TILE_GEOM_MAX_ZOOM, tile_unit_m

# ground metres (the storage CRS's): half a tile unit at the finest zoom the shapes serve, 4.5 cm
SHAPE_TOLERANCE_M = tile_unit_m(TILE_GEOM_MAX_ZOOM) / 2

_FILL = text(
    "INSERT INTO region_tile_shapes (region_id, geom) "
    "SELECT r.id, ST_Transform(ST_Simplify(r.geom, :tol, true), 3857) FROM regions r "
    "WHERE NOT EXISTS (SELECT 1 FROM region_tile_shapes s WHERE s.region_id = r.id) "
    "ON CONFLICT (region_id) DO NOTHING"
)


def fill_tile_shapes(conn: Connection) -> int:
    """Add the shape of every region without one; returns how many were added (the caller
    commits)."""
    return conn.execute(_FILL, {"tol": SHAPE_TOLERANCE_M}).rowcount
