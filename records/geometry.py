"""Checking and preparing a record's geometry: GeoJSON in (a geometry, a Feature or a
FeatureCollection; WGS 84 unless a supported CRS is named), one valid geometry in the store's CRS
out, with what was repaired and the districts it touches.

The structure and the coordinate ranges are checked with shapely before anything reaches the
database, so a wrong axis order or CRS gets a hint rather than a transform error; validity,
repair, the extent check and the district lookup run in PostGIS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import GeometryCollection, shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from records.districts import districts_of_geometry
from records.errors import InvalidRecord
from records.settings import RecordSettings
from spatial.crs import UnknownCrs, epsg_code

_TOP_LEVEL = "l.rank = (SELECT min(rank) FROM region_levels m WHERE m.system_id = l.system_id)"


@dataclass
class PreparedGeometry:
    ewkb: bytes
    districts: list[str]
    notes: list[str] = field(default_factory=list)


def input_srid(crs: str | None) -> int:
    """CRS84 (the default), EPSG:4326 or any projected CRS by its EPSG code."""
    if crs is None or crs == "":
        return 4326
    try:
        return epsg_code(crs)
    except UnknownCrs as exc:
        raise InvalidRecord(
            f"unsupported crs: {exc}; use CRS84 (default) or the EPSG code of a projected CRS, "
            "e.g. the city's official one"
        ) from None


def _shapes(value: object) -> list:
    """The geometries of a GeoJSON geometry, Feature or FeatureCollection."""
    if not isinstance(value, dict) or "type" not in value:
        raise InvalidRecord("geometry: expected a GeoJSON object with a 'type'")
    kind = value["type"]
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list) or not features:
            raise InvalidRecord("geometry: the FeatureCollection has no features")
        return [g for f in features for g in _shapes(f)]
    if kind == "Feature":
        if value.get("geometry") is None:
            raise InvalidRecord("geometry: the Feature has no geometry")
        return _shapes(value["geometry"])
    _check_rings(kind, value.get("coordinates"))
    try:
        geometry = shape(value)
    except Exception as exc:  # shapely reports malformed coordinates in many ways
        raise InvalidRecord(f"geometry: not a valid GeoJSON {kind}: {exc}") from None
    if geometry.is_empty:
        raise InvalidRecord("geometry: the geometry is empty")
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        raise InvalidRecord("geometry: coordinates must be finite numbers")
    return [geometry]


def _check_rings(kind: str, coordinates: object) -> None:
    """GeoJSON rings are closed (RFC 7946 3.1.6): a ring that is not is refused, not closed
    silently (a missing last point is often a cut-off upload)."""
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon" and isinstance(coordinates, list):
        polygons = coordinates
    else:
        return
    for p, rings in enumerate(polygons):
        for r, ring in enumerate(rings if isinstance(rings, list) else []):
            if not isinstance(ring, list) or not ring:
                continue
            where = f"ring {r + 1}" + (f" of polygon {p + 1}" if kind == "MultiPolygon" else "")
            if len(ring) < 4:
                raise InvalidRecord(
                    f"geometry: {where} has {len(ring)} positions; a closed ring needs at least 4"
                )
            if ring[0] != ring[-1]:
                raise InvalidRecord(
                    f"geometry: {where} is not closed: it starts at {ring[0]} and ends at "
                    f"{ring[-1]} (the last position must repeat the first)"
                )


def parse_geometry(value: object, srid: int, settings: RecordSettings):
    """The one shapely geometry the input describes (checked for size and coordinate ranges)."""
    parts = _shapes(value)
    geometry = parts[0] if len(parts) == 1 else GeometryCollection(parts)
    vertices = shapely.get_num_coordinates(geometry)
    if vertices > settings.max_vertices:
        raise InvalidRecord(
            f"geometry: {vertices} vertices, more than the limit of {settings.max_vertices}; "
            "simplify it first"
        )
    if srid == 4326:
        minx, miny, maxx, maxy = geometry.bounds
        if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
            raise InvalidRecord(
                "geometry: coordinates are out of the longitude/latitude range; they look like "
                "projected metres — send WGS 84 longitude, latitude or name the CRS "
                '(e.g. "crs": "EPSG:<code of the city\'s official CRS>")'
            )
    return geometry


def prepare_geometry(
    conn: Connection, value: object, crs: str | None, srid: int, settings: RecordSettings
) -> PreparedGeometry:
    """Parse, transform to the store's CRS, repair (reported), check the extent, find the
    districts."""
    in_srid = input_srid(crs)
    geometry = parse_geometry(value, in_srid, settings)
    # swapped axes can only be tested when the swapped values are still valid degrees
    may_flip = in_srid == 4326 and max(map(abs, geometry.bounds)) <= 90
    row = conn.execute(
        text(
            """
            WITH raw AS (
                SELECT ST_Transform(ST_SetSRID(ST_GeomFromWKB(:wkb), :in_srid), :srid) AS g
            )
            SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason,
                   CASE WHEN ST_IsValid(g) THEN g
                        ELSE ST_CollectionHomogenize(ST_MakeValid(g, 'method=structure')) END
                   AS fixed
            FROM raw
            """
        ),
        {"wkb": shapely.to_wkb(geometry), "in_srid": in_srid, "srid": srid},
    ).one()
    notes = []
    if not row.valid:
        notes.append(f"geometry repaired: {row.reason}")
    checked = conn.execute(
        text(
            f"""
            WITH g AS (SELECT CAST(:fixed AS geometry) AS g),
            far AS (
                SELECT count(*) AS n FROM g, ST_DumpPoints(g.g) p
                WHERE NOT EXISTS (
                    SELECT 1 FROM regions r JOIN region_levels l ON l.id = r.level_id
                    WHERE {_TOP_LEVEL} AND ST_DWithin(r.geom, p.geom, :tol))
            ),
            flipped AS (
                SELECT count(*) AS n FROM ST_DumpPoints(CASE WHEN :flip THEN ST_Transform(
                    ST_FlipCoordinates(ST_SetSRID(ST_GeomFromWKB(:wkb), 4326)), :srid) END) p
                WHERE NOT EXISTS (
                    SELECT 1 FROM regions r JOIN region_levels l ON l.id = r.level_id
                    WHERE {_TOP_LEVEL} AND ST_DWithin(r.geom, p.geom, :tol))
            )
            SELECT ST_IsEmpty(g.g) AS empty, far.n AS far, flipped.n AS flipped_far,
                   ST_NPoints(g.g) AS points,
                   ST_AsEWKB(g.g) AS ewkb
            FROM g, far, flipped
            """
        ),
        {
            "fixed": row.fixed,
            "tol": settings.extent_tolerance_m,
            "srid": srid,
            "flip": may_flip,
            "wkb": shapely.to_wkb(geometry),
        },
    ).one()
    if checked.empty:
        raise InvalidRecord("geometry: nothing is left of the geometry after repair")
    if checked.far:
        if may_flip and checked.flipped_far == 0:
            raise InvalidRecord(
                "geometry: the coordinates seem to be in latitude, longitude order; GeoJSON "
                "needs longitude first (e.g. [13.40, 52.52])"
            )
        raise InvalidRecord(
            f"geometry: {checked.far} of {checked.points} vertices lie more than "
            f"{settings.extent_tolerance_m:g} m outside the city's regions"
        )
    ewkb = bytes(checked.ewkb)
    return PreparedGeometry(ewkb, districts_of_geometry(conn, ewkb), notes)
