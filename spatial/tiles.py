"""Mapbox vector tiles of a feature source, built by PostGIS (ST_AsMVT): the part of a tile
that can hold data, the simplification a zoom allows, and the tile itself."""

from __future__ import annotations

import math

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.features import FeatureQuery, FeatureSource, fill, quoted, where_clause

WORLD_MERCATOR_M = 40_075_016.685578488


def tile_tolerance(z: int, extent: int) -> float:
    """Half a tile unit in metres at zoom ``z`` (Web Mercator, shrunk to ground metres at
    the latitude of a German city): detail below it cannot show in the tile."""
    return WORLD_MERCATOR_M / (2**z * extent) * 0.6 / 2


def tile_area(
    z: int, x: int, y: int, margin: float, extent: tuple[float, ...] | None
) -> tuple[float, float, float, float] | None:
    """The part of tile z/x/y (with ``margin`` of its size around it) that holds data, in
    degrees: the tile cut to the source's extent. A low-zoom tile spans the world, which a
    projected storage CRS cannot express (the tile of zoom 0 came out empty); None when
    nothing of the source can be in it."""
    n = 2**z
    west = (x - margin) / n * 360 - 180
    east = (x + 1 + margin) / n * 360 - 180

    def latitude(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    north, south = latitude(max(y - margin, 0)), latitude(min(y + 1 + margin, n))
    if extent is not None:
        pad = 0.01  # degrees: the extent is a transformed box
        west, south = max(west, extent[0] - pad), max(south, extent[1] - pad)
        east, north = min(east, extent[2] + pad), min(north, extent[3] + pad)
    if west >= east or south >= north:
        return None
    return west, south, east, north


_TILE = """
WITH bounds AS (
    SELECT ST_TileEnvelope(:t_z, :t_x, :t_y) AS env,
           ST_Transform(ST_Segmentize(ST_MakeEnvelope(:t_w, :t_s, :t_e, :t_n, 4326), 0.01),
                        :t_srid) AS area
), shapes AS (
    SELECT ST_AsMVTGeom(ST_Transform({simplified}, 3857), bounds.env, :t_extent, :t_buffer,
                        true) AS mvt_geom, {columns}
    FROM ({relation}) AS src, bounds
    WHERE src.geom && bounds.area AND {where}
)
SELECT ST_AsMVT(shapes.*, :t_layer, :t_extent, 'mvt_geom'{id_arg}) FROM shapes
WHERE shapes.mvt_geom IS NOT NULL
"""


def mvt_tile(
    conn: Connection,
    source: FeatureSource,
    layer: str,
    z: int,
    x: int,
    y: int,
    query: FeatureQuery | None = None,
    extent: int = 4096,
    buffer: int = 64,
) -> bytes:
    """One Mapbox vector tile of the source: geometry simplified for the zoom, clipped with a
    buffer, every field as a property (ids as feature ids where they are integers)."""
    area = tile_area(z, x, y, buffer / extent, source.extent)
    if area is None:
        return b""  # the tile lies beside every feature of the source
    where, params = where_clause(source, query or FeatureQuery())
    columns = ", ".join(f"src.{quoted(f.name)}" for f in source.fields)
    if source.geometry_type == "Point":
        simplified = "src.geom"
    else:
        # clip to the buffered tile first: a Bezirk crossing a z14 tile has thousands of
        # vertices outside it that would otherwise be simplified and transformed for nothing
        simplified = "ST_Simplify(ST_ClipByBox2D(src.geom, bounds.area::box2d), :t_tol, true)"
    id_arg = ""
    if source.id_kind == "int":
        columns += ", src.fid"
        id_arg = ", 'fid'"
    sql = fill(
        _TILE,
        simplified=simplified,
        columns=columns,
        relation=source.relation,
        where=where,
        id_arg=id_arg,
    )
    params.update(
        t_z=z,
        t_x=x,
        t_y=y,
        t_w=area[0],
        t_s=area[1],
        t_e=area[2],
        t_n=area[3],
        t_srid=source.srid,
        t_extent=extent,
        t_buffer=buffer,
        t_layer=layer,
        t_tol=tile_tolerance(z, extent),
    )
    data = conn.execute(text(sql), params).scalar()
    return bytes(data) if data is not None else b""
