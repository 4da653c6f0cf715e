"""Facilities ingest: a facility source (``data/facilities/<key>.toml``) → validated points →
PostGIS, assigned to regions at every level, with count and capacity indicators per region.

The file is read and validated completely before the store is touched; then one transaction
replaces the source's facilities (staged with COPY, transformed in PostGIS), assigns them to
regions, recomputes the derived indicators and records the run. The same input twice is a
no-op; different input for a loaded source needs ``force``.
"""

from __future__ import annotations

import shapely
from pyproj import CRS
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ingest.catalog import upsert_catalog
from ingest.facility_regions import (
    Category,
    assign_facilities,
    facility_catalog,
    load_categories,
    outside_every_region,
    refresh_facility_indicators,
    upsert_categories,
)
from ingest.manifest import Folders, load_keyed_model
from ingest.plausibility import check_axis_order
from ingest.points import FacilitySource, PointLayer, read_point_layer
from ingest.runs import JobResult, finish_run, start_run, unchanged_run
from ingest.sources import ProgressHook, companion_files, input_checksum, resolve_source
from ingest.upload import copy_rows
from spatial.settings import DataSettings

KIND = "facilities"


def load_facility_source(directory: Folders, key: str) -> FacilitySource:
    return load_keyed_model(directory, key, FacilitySource, "facility source")


def ingest_facilities(
    engine: Engine,
    key: str,
    settings: DataSettings,
    *,
    srid: int,
    force: bool = False,
    step=None,
    download: ProgressHook | None = None,
) -> JobResult:
    """Load one facility source; see the module docstring."""
    step = step or (lambda _msg: None)
    spec = load_facility_source(settings.pack_dirs("facilities"), key)
    categories = load_categories(settings.facility_categories_file)
    step(f"reading {spec.source.title}")
    path = resolve_source(spec.source, settings, download)
    layer = read_point_layer(path, spec, set(categories))
    checksum = input_checksum(
        companion_files(path),
        {
            "source": spec.model_dump(mode="json"),
            "categories": {k: c.model_dump() for k, c in categories.items()},
        },
    )
    return write_facilities(engine, spec, layer, categories, checksum, srid, force, step)


def write_facilities(
    engine: Engine,
    spec: FacilitySource,
    layer: PointLayer,
    categories: dict[str, Category],
    checksum: str,
    srid: int,
    force: bool,
    step,
) -> JobResult:
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sozialraum:facilities'))"))
        previous = unchanged_run(conn, KIND, spec.key, checksum, force)
        if previous is not None:
            return JobResult(
                run_id=previous.id,
                skipped=True,
                message=f"{spec.key} is already loaded from the same data (run {previous.id})",
            )
        points = shapely.from_wkb(layer.rows["wkb"].to_numpy())
        check_axis_order(
            conn,
            shapely.get_x(points),
            shapely.get_y(points),
            CRS.from_epsg(layer.epsg),
            srid,
            layer.path,
            "facilities",
        )
        upsert_categories(conn, categories)
        run_id = start_run(conn, KIND, spec.key, checksum, {"source": spec.key})
        replaced = conn.execute(
            text("DELETE FROM facilities WHERE source = :s RETURNING category, period"),
            {"s": spec.key},
        ).all()
        step(f"writing {len(layer.rows):,} facilities")
        _insert(conn, spec, layer, run_id, srid)
        step("assigning facilities to regions")
        assign_facilities(conn, run_id=run_id)
        outside, examples = outside_every_region(conn, run_id)
        notes = list(layer.notes)
        if spec.valid_on is None:
            notes.append(
                "the source states no date ('Stand'); its indicators are dated to the load date"
            )
        if outside:
            notes.append(f"{outside} facilities lie outside every region: " + "; ".join(examples))
        step("computing facility indicators")
        derived = _refresh_indicators(conn, spec, layer, categories, replaced, run_id)
        counts = {c: int(n) for c, n in layer.rows["category"].value_counts().items()}
        levels = _assigned_per_level(conn, run_id)
        finish_run(
            conn,
            run_id,
            status="ok" if not outside else "warnings",
            counts=counts,
            report={"notes": notes, "outside": outside, "levels": levels, "derived": derived},
        )
    return JobResult(
        run_id=run_id,
        skipped=False,
        counts=counts,
        notes=notes,
        details={"outside": outside, "levels": levels, "derived_values": derived},
    )


def _insert(conn: Connection, spec: FacilitySource, layer: PointLayer, run_id: int, srid: int):
    conn.execute(
        text(
            "CREATE TEMP TABLE facility_stage (source_id text, category text, name text, "
            "address text, capacity integer, provider text, attributes jsonb, geom geometry) "
            "ON COMMIT DROP"
        )
    )
    columns = ["source_id", "category", "name", "address", "capacity", "provider", "attributes"]
    copy_rows(
        conn,
        "facility_stage",
        [*columns, "geom"],
        (
            (*(None if _blank(v) else v for v in row[:-1]), row[-1])
            for row in layer.rows[[*columns, "wkb"]].itertuples(index=False)
        ),
    )
    conn.execute(
        text(
            """
            INSERT INTO facilities (source, source_id, category, name, address, capacity,
                                    provider, attributes, valid_on, period, run_id, geom)
            SELECT :source, source_id, category, name, address, capacity, provider, attributes,
                   :valid_on, coalesce(CAST(:valid_on AS date), current_date), :run,
                   ST_Transform(ST_SetSRID(geom, :epsg), :srid)
            FROM facility_stage
            """
        ),
        {
            "source": spec.key,
            "valid_on": spec.valid_on,
            "run": run_id,
            "epsg": layer.epsg,
            "srid": srid,
        },
    )


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _refresh_indicators(
    conn: Connection,
    spec: FacilitySource,
    layer: PointLayer,
    categories: dict[str, Category],
    replaced: list,
    run_id: int,
) -> int:
    loaded = sorted(set(layer.rows["category"]))
    with_capacity = (
        {c for c in loaded if layer.rows.loc[layer.rows["category"] == c, "capacity"].notna().any()}
        if spec.capacity_field
        else set()
    )
    catalog = facility_catalog(
        [categories[c] for c in loaded],
        with_capacity=with_capacity,
        source=spec.title,
        licence=spec.source.licence or "siehe Quelle",
        attribution=spec.source.attribution or spec.title,
    )
    upsert_catalog(conn, catalog)
    # replaced categories may have indicators from earlier runs, so look all of them up
    known = dict(conn.execute(text("SELECT key, id FROM indicators")).all())
    period = conn.execute(
        text("SELECT period FROM facilities WHERE run_id = :run LIMIT 1"), {"run": run_id}
    ).scalar_one()
    pairs = {(c, period) for c in loaded} | {(r.category, r.period) for r in replaced}
    return sum(
        refresh_facility_indicators(conn, categories[cat], period, known, run_id)
        for cat, period in sorted(pairs)
        if cat in categories
    )


def _assigned_per_level(conn: Connection, run_id: int) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT s.key AS system, l.key AS level, count(*) AS facilities, "
            "count(DISTINCT fr.region_id) AS regions "
            "FROM facility_regions fr JOIN facilities f ON f.id = fr.facility_id "
            "JOIN region_levels l ON l.id = fr.level_id "
            "JOIN region_systems s ON s.id = l.system_id "
            "WHERE f.run_id = :run GROUP BY s.key, l.key, l.rank ORDER BY s.key, l.rank"
        ),
        {"run": run_id},
    ).all()
    return [dict(r._mapping) for r in rows]
