"""Staging validated features in PostGIS: COPY into a temporary table, then transform to the
storage CRS, repair invalid geometries and promote everything to MultiPolygon in SQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.errors import IngestError
from ingest.readers import RegionLayer
from ingest.upload import copy_rows

EXAMPLES = 5
MIN_AREA_M2 = 1.0


def _ensure_stage_table(conn: Connection) -> None:
    exists = conn.execute(text("SELECT to_regclass('pg_temp.boundary_stage')")).scalar()
    if exists is not None:
        return
    conn.execute(
        text(
            "CREATE TEMP TABLE boundary_stage ("
            " level_key text NOT NULL, feature_index integer NOT NULL, code text NOT NULL,"
            " name text NOT NULL, parent_code text, geom geometry) ON COMMIT DROP"
        )
    )
    # compressing coordinates gains a few per cent of space for most of the load's time
    conn.execute(text("ALTER TABLE boundary_stage ALTER COLUMN geom SET STORAGE EXTERNAL"))


def stage_layer(conn: Connection, layer: RegionLayer, level_key: str, srid: int) -> list[dict]:
    """Stage ``layer`` under ``level_key``; returns the features whose geometry was repaired."""
    _ensure_stage_table(conn)
    conn.execute(text("DELETE FROM boundary_stage WHERE level_key = :key"), {"key": level_key})
    # the WKB goes straight into the geometry column (binary COPY hands it to PostGIS's own
    # reader), without an SRID: the rows are rewritten only where they need repair or another
    # CRS, and take the storage CRS's SRID on their way into the regions
    copy_rows(
        conn,
        "boundary_stage",
        ["level_key", "feature_index", "code", "name", "parent_code", "geom"],
        (
            (level_key, int(r.feature_index), r.code, r.name, r.parent_code, r.wkb)
            for r in layer.rows[["feature_index", "code", "name", "parent_code", "wkb"]].itertuples(
                index=False
            )
        ),
        binary_types=["text", "int4", "text", "text", "text", "bytea"],
    )
    invalid = conn.execute(
        text(
            "SELECT feature_index, code, ST_IsValidReason(geom) AS reason FROM boundary_stage "
            "WHERE level_key = :key AND NOT ST_IsValid(geom) ORDER BY feature_index"
        ),
        {"key": level_key},
    ).all()
    repair = "ST_Multi(ST_CollectionExtract(ST_MakeValid({}), 3))"
    if layer.epsg != srid:
        moved = "ST_Transform(ST_SetSRID(geom, CAST(:src AS integer)), CAST(:srid AS integer))"
        conn.execute(
            text(f"UPDATE boundary_stage SET geom = {repair.format(moved)} WHERE level_key = :key"),
            {"src": layer.epsg, "srid": srid, "key": level_key},
        )
    elif invalid:
        conn.execute(
            text(
                f"UPDATE boundary_stage SET geom = {repair.format('geom')} "
                "WHERE level_key = :key AND feature_index = ANY(:repair)"
            ),
            {"key": level_key, "repair": [r.feature_index for r in invalid]},
        )
    # the storage CRS is metric: a region of less than a square metre is not a region
    tiny = conn.execute(
        text(
            "SELECT feature_index, code, ST_IsEmpty(geom) AS empty, ST_Area(geom) AS area "
            "FROM boundary_stage WHERE level_key = :key AND ST_Area(geom) < :least "
            "ORDER BY feature_index LIMIT 1"
        ),
        {"key": level_key, "least": MIN_AREA_M2},
    ).first()
    if tiny is not None and tiny.empty:
        raise IngestError(
            f"geometry of {tiny.code!r} has no area left after repair (degenerate polygon)",
            file=layer.path,
            feature=tiny.feature_index,
        )
    if tiny is not None:
        raise IngestError(
            f"region {tiny.code!r} has an area of {tiny.area:.3g} m², not a plausible region; "
            f"are the coordinates in another unit than the CRS ({layer.crs.to_string()}) says?",
            file=layer.path,
            feature=tiny.feature_index,
        )
    return [{"feature": r.feature_index, "code": r.code, "reason": r.reason} for r in invalid]
