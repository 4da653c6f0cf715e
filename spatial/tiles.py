"""Mapbox vector tiles of a feature source, built by PostGIS (ST_AsMVT): the part of a tile
that can hold data, the simplification a zoom allows, the thinning of dense point layers
(one point per grid cell, with the number it stands for, so a tile keeps to a byte budget),
and the tile itself."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.features import FeatureQuery, FeatureSource, fill, quoted, where_clause

WORLD_MERCATOR_M = 40_075_016.685578488
GROUND_SCALE = 0.6  # ground metres per Web Mercator metre at the latitude of a German city
TILE_EXTENT = 4096  # tile units per side
TILE_BUFFER = 64  # tile units a shape reaches beyond the tile, so that its outline is not cut
# the finest zoom a source's Web Mercator column serves: the store simplifies it by half a
# tile unit at this zoom (``spatial.tile_shapes``)
TILE_GEOM_MAX_ZOOM = 16


def tile_unit_m(z: int, extent: int = TILE_EXTENT) -> float:
    """One tile unit in metres at zoom ``z`` (Web Mercator, shrunk to ground metres at the
    latitude of a German city). A tile's coordinates are whole units, so a shape simplified
    by one unit looks the same in it: its vertices move by no more than the rounding to the
    grid moves them (a quarter of a device pixel on a high-density screen)."""
    return WORLD_MERCATOR_M / (2**z * extent) * GROUND_SCALE


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


# the tile in Web Mercator and the part of it that can hold data, in the storage CRS
_BOUNDS = """
WITH bounds AS (
    SELECT ST_TileEnvelope(:t_z, :t_x, :t_y) AS env,
           ST_TileEnvelope(:t_z, :t_x, :t_y, margin => :t_margin)::box2d AS clip,
           ST_Transform(ST_Segmentize(ST_MakeEnvelope(:t_w, :t_s, :t_e, :t_n, 4326), 0.01),
                        :t_srid) AS area
)"""
# the shapes are MATERIALIZED: inlined, the filter on ``mvt_geom`` and the aggregate each
# computed ST_AsMVTGeom (and the clip and simplification under it), a third of the tile's cost
_TILE = (
    _BOUNDS
    + """, shapes AS MATERIALIZED (
    SELECT ST_AsMVTGeom({mercator}, bounds.env, :t_extent, :t_buffer, true) AS mvt_geom,
           {columns}
    FROM ({relation}) AS src, bounds
    WHERE src.geom && bounds.area AND {where}
)
SELECT ST_AsMVT(shapes.*, :t_layer, :t_extent, 'mvt_geom'{id_arg}) FROM shapes
WHERE shapes.mvt_geom IS NOT NULL
"""
)
# dense points: the first point (by id) of each grid cell of the tile stands for the cell,
# ``point_count`` says how many it stands for
_THINNED = (
    _BOUNDS
    + """, placed AS (
    SELECT src.*, ST_Transform(src.geom, 3857) AS merc FROM ({relation}) AS src, bounds
    WHERE src.geom && bounds.area AND {where}
), celled AS (
    SELECT placed.*, floor(ST_X(merc) / :t_cell) AS cx, floor(ST_Y(merc) / :t_cell) AS cy
    FROM placed
), kept AS (
    SELECT DISTINCT ON (cx, cy) celled.*, count(*) OVER (PARTITION BY cx, cy) AS point_count
    FROM celled ORDER BY cx, cy, fid
), shapes AS MATERIALIZED (
    SELECT ST_AsMVTGeom(kept.merc, bounds.env, :t_extent, :t_buffer, true) AS mvt_geom,
           {columns}, kept.point_count
    FROM kept, bounds
)
SELECT ST_AsMVT(shapes.*, :t_layer, :t_extent, 'mvt_geom'{id_arg}) FROM shapes
WHERE shapes.mvt_geom IS NOT NULL
"""
)
_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM ({relation}) AS src, {area} WHERE {where} LIMIT :t_cap) n"
)
_AREA = (
    "(SELECT ST_Transform(ST_Segmentize(ST_MakeEnvelope(:t_w, :t_s, :t_e, :t_n, 4326), 0.01), "
    ":t_srid) AS area) AS bounds"
)


@dataclass(frozen=True)
class TileBudget:
    """How much a tile of a point layer may carry: above ``max_points`` points the layer is
    thinned to a grid of about that many cells; a thinned tile still over ``max_bytes`` is
    thinned again on a grid twice as coarse (at most ``3`` times)."""

    max_points: int = 1_000
    max_bytes: int = 200_000


@dataclass(frozen=True)
class TileStatement:
    """The SQL of one tile of a source, unthinned, with its parameters (and what thinning the
    same tile takes: the source's filter and the feature-id argument of ST_AsMVT)."""

    sql: str
    params: dict
    where: str
    id_arg: str


def tile_statement(
    source: FeatureSource,
    layer: str,
    z: int,
    x: int,
    y: int,
    query: FeatureQuery | None = None,
) -> TileStatement | None:
    """The statement that builds tile z/x/y of the source: geometry simplified for the zoom,
    clipped with a buffer, every field as a property (ids as feature ids where they are
    integers); None when the tile lies beside every feature of the source."""
    extent, buffer = TILE_EXTENT, TILE_BUFFER
    area = tile_area(z, x, y, buffer / extent, source.extent)
    if area is None:
        return None
    where, params = where_clause(source, query or FeatureQuery())
    id_arg = ", 'fid'" if source.id_kind == "int" else ""
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
        t_tol=tile_unit_m(z, extent),
        t_tol_m=tile_unit_m(z, extent) / GROUND_SCALE,
        t_margin=buffer / extent,
    )
    sql = fill(
        _TILE,
        mercator=_mercator_shape(source, z),
        columns=_columns(source, "src"),
        relation=source.relation,
        where=where,
        id_arg=id_arg,
    )
    return TileStatement(sql, params, where, id_arg)


def mvt_tile(
    conn: Connection,
    source: FeatureSource,
    layer: str,
    z: int,
    x: int,
    y: int,
    query: FeatureQuery | None = None,
    budget: TileBudget | None = None,
) -> bytes:
    """One Mapbox vector tile of the source (``tile_statement``); dense point layers thinned
    to the budget."""
    statement = tile_statement(source, layer, z, x, y, query)
    if statement is None:
        return b""  # the tile lies beside every feature of the source
    budget = budget or TileBudget()
    where, params = statement.where, statement.params
    if source.geometry_type == "Point" and _points_in(conn, source, where, params, budget):
        return _thinned_tile(conn, source, where, params, statement.id_arg, z, budget)
    return _scalar_bytes(conn, statement.sql, params)


def _mercator_shape(source: FeatureSource, z: int) -> str:
    """The feature's shape in Web Mercator, clipped to the buffered tile and simplified for the
    zoom: clipped first, since a Bezirk crossing a z14 tile has thousands of vertices outside
    it that would otherwise be simplified (and transformed) for nothing. The source's Web
    Mercator column serves zooms up to ``TILE_GEOM_MAX_ZOOM`` where it is filled; finer tiles,
    and features without it yet, are cut from the stored geometry."""
    if source.geometry_type == "Point":
        return "ST_Transform(src.geom, 3857)"
    stored = (
        "ST_Transform(ST_Simplify(ST_ClipByBox2D(src.geom, bounds.area::box2d), :t_tol, true), "
        "3857)"
    )
    if source.tile_geom is None or z > TILE_GEOM_MAX_ZOOM:
        return stored
    column = f"src.{quoted(source.tile_geom)}"
    return (
        f"CASE WHEN {column} IS NULL THEN {stored} "
        f"ELSE ST_Simplify(ST_ClipByBox2D({column}, bounds.clip), :t_tol_m, true) END"
    )


def _points_in(
    conn: Connection, source: FeatureSource, where: str, params: dict, budget: TileBudget
) -> bool:
    """Whether the tile would hold more points than the budget (counted up to one more)."""
    sql = fill(
        _COUNT, relation=source.relation, area=_AREA, where=f"src.geom && bounds.area AND {where}"
    )
    return (
        conn.execute(text(sql), {**params, "t_cap": budget.max_points + 1}).scalar()
        > budget.max_points
    )


def _thinned_tile(
    conn: Connection,
    source: FeatureSource,
    where: str,
    params: dict,
    id_arg: str,
    z: int,
    budget: TileBudget,
) -> bytes:
    sql = fill(
        _THINNED,
        relation=source.relation,
        where=where,
        columns=_columns(source, "kept"),
        id_arg=id_arg,
    )
    cells = max(1, math.isqrt(budget.max_points))  # per tile side
    data = b""
    for _ in range(4):
        params["t_cell"] = WORLD_MERCATOR_M / 2**z / cells
        data = _scalar_bytes(conn, sql, params)
        if len(data) <= budget.max_bytes or cells == 1:
            break
        cells = max(1, cells // 2)
    return data


def _columns(source: FeatureSource, alias: str) -> str:
    names = [quoted(f.name) for f in source.fields]
    if source.id_kind == "int":
        names.append("fid")
    return ", ".join(f"{alias}.{n}" for n in names)


# a ``:name`` placeholder as SQLAlchemy's text() finds one (not a ``::type`` cast)
_PLACEHOLDER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@lru_cache(maxsize=256)
def driver_sql(sql: str) -> str:
    """``sql`` with text()'s ``:name`` placeholders as the driver's ``%(name)s``."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


def _scalar_bytes(conn: Connection, sql: str, params: dict) -> bytes:
    # on the driver's cursor: a tile is one value, and wrapping it in a result cost a fifth of
    # what building a small tile costs
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(driver_sql(sql), params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
