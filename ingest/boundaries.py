"""Boundary ingest: a whole region system from its manifest, or one level from a user file.

Files are read and validated first (``readers``), then everything is written in one
transaction: features are COPYed into a staging table, transformed to the storage CRS, made
valid and promoted to MultiPolygon by PostGIS, derived levels are dissolved, parents assigned,
and the hierarchy checks are stored with the ingest run. Any error rolls everything back.
Re-running with the same input is a no-op; ``force`` replaces the system (or level) cleanly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ingest import hierarchy
from ingest.errors import IngestError
from ingest.facility_regions import refresh_system_facility_indicators
from ingest.plan import Step, SystemPlan
from ingest.plausibility import check_axis_order, representative_points
from ingest.readers import RegionLayer
from ingest.runs import finish_run, last_run, start_run
from ingest.staging import stage_layer


@dataclass
class IngestResult:
    run_id: int | None
    skipped: bool
    summary: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[hierarchy.Check] = field(default_factory=list)
    message: str = ""


def load_plan(
    engine: Engine,
    plan: SystemPlan,
    *,
    srid: int,
    checksum: str,
    source_label: str,
    options: dict,
    force: bool = False,
    step: Step | None = None,
) -> IngestResult:
    """Write a plan in one transaction; see the module docstring."""
    step = step or (lambda _msg: None)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sozialraum:boundaries'))"))
        system_id = conn.execute(
            text("SELECT id FROM region_systems WHERE key = :key"), {"key": plan.key}
        ).scalar()
        existing = system_id is not None and _has_levels(conn, system_id, plan.only_levels)
        previous = last_run(conn, "boundaries", source_label)
        if existing and not force:
            if previous is not None and previous.checksum == checksum:
                return IngestResult(
                    run_id=previous.id,
                    skipped=True,
                    message=(
                        f"{source_label} is already loaded from the same data (run {previous.id}); "
                        "nothing to do (use --force to reload)"
                    ),
                )
            raise IngestError(
                f"{source_label} is already loaded from different data"
                + (f" (run {previous.id})" if previous else "")
                + "; use --force to replace it"
            )
        if existing and force:
            _refuse_if_statistics_depend(conn, system_id, plan.only_levels, source_label)
        run_id = start_run(conn, "boundaries", source_label, checksum, options)
        system_id = _write_system(conn, plan, system_id, run_id, force)
        level_ids = _write_levels(conn, plan, system_id)
        result = IngestResult(run_id=run_id, skipped=False)
        _load_levels(conn, plan, level_ids, system_id, run_id, srid, result, step)
        step("checking the hierarchy")
        _run_checks(conn, plan, system_id, level_ids, result)
        summary = _summary(conn, plan, level_ids, result)
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM facilities)")).scalar_one():
            step("assigning facilities to the new regions")
            refresh_system_facility_indicators(conn, system_id, run_id)
        status = "ok" if all(c.ok for c in result.checks) else "warnings"
        finish_run(
            conn,
            run_id,
            status=status,
            counts={r["level"]: r["features"] for r in summary},
            report={
                "levels": summary,
                "notes": result.notes,
                "checks": [c.as_dict() for c in result.checks],
            },
        )
        result.summary = summary
        return result


def _refuse_if_statistics_depend(
    conn: Connection, system_id: int, only: set[str] | None, label: str
) -> None:
    """Replacing regions would cascade to the statistics stored on them: refuse instead."""
    count = conn.execute(
        text(
            "SELECT count(*) FROM statistic_values v JOIN regions r ON r.id = v.region_id "
            "JOIN region_levels l ON l.id = r.level_id WHERE r.system_id = :id "
            "AND (CAST(:keys AS text[]) IS NULL OR l.key = ANY(CAST(:keys AS text[])))"
        ),
        {"id": system_id, "keys": sorted(only) if only is not None else None},
    ).scalar_one()
    if count:
        raise IngestError(
            f"{label} cannot be replaced: {count:,} statistic values are stored on its "
            "regions and would be lost; load the new boundaries as a new region system instead"
        )


def _has_levels(conn: Connection, system_id: int, only: set[str] | None) -> bool:
    if only is None:
        return True
    return bool(
        conn.execute(
            text(
                "SELECT 1 FROM region_levels l JOIN regions r ON r.level_id = l.id "
                "WHERE l.system_id = :id AND l.key = ANY(:keys) LIMIT 1"
            ),
            {"id": system_id, "keys": sorted(only)},
        ).first()
    )


def _write_system(
    conn: Connection, plan: SystemPlan, system_id: int | None, run_id: int, force: bool
) -> int:
    values = {
        "key": plan.key,
        "name": plan.name,
        "city": plan.city,
        "valid_from": plan.valid_from,
        "valid_to": plan.valid_to,
        "source": plan.landing_page,
        "licence": plan.licence,
        "attribution": plan.attribution,
        "run_id": run_id,
    }
    if system_id is not None and plan.only_levels is None and force:
        conn.execute(text("DELETE FROM region_systems WHERE id = :id"), {"id": system_id})
        system_id = None
    if system_id is None:
        return conn.execute(
            text(
                "INSERT INTO region_systems (key, name, city, valid_from, valid_to, source, "
                "licence, attribution, run_id) VALUES (:key, :name, :city, :valid_from, "
                ":valid_to, :source, :licence, :attribution, :run_id) RETURNING id"
            ),
            values,
        ).scalar_one()
    return system_id


def _write_levels(conn: Connection, plan: SystemPlan, system_id: int) -> dict[str, int]:
    ids: dict[str, int] = {}
    for level in plan.levels:
        source = level.source
        row = conn.execute(
            text(
                """
                INSERT INTO region_levels (system_id, key, name, rank, code_length, source,
                                           attribution, licence)
                VALUES (:system_id, :key, :name, :rank, :code_length, :source, :attribution,
                        :licence)
                ON CONFLICT (system_id, key) DO UPDATE SET name = EXCLUDED.name,
                    code_length = EXCLUDED.code_length,
                    source = coalesce(EXCLUDED.source, region_levels.source),
                    attribution = coalesce(EXCLUDED.attribution, region_levels.attribution),
                    licence = coalesce(EXCLUDED.licence, region_levels.licence)
                RETURNING id
                """
            ),
            {
                "system_id": system_id,
                "key": level.key,
                "name": level.name,
                "rank": level.rank,
                "code_length": level.code_length,
                "source": (source.landing_page or (source.urls[0] if source.urls else None))
                if source
                else None,
                "attribution": source.attribution if source else None,
                "licence": source.licence if source else None,
            },
        ).scalar_one()
        ids[level.key] = row
    return ids


def _load_levels(
    conn: Connection,
    plan: SystemPlan,
    level_ids: dict[str, int],
    system_id: int,
    run_id: int,
    srid: int,
    result: IngestResult,
    step: Step,
) -> None:
    loading = [
        lvl for lvl in plan.levels if plan.only_levels is None or lvl.key in plan.only_levels
    ]
    # parents by prefix are written with the regions: no second pass over the rows
    by_rank = sorted(plan.levels, key=lambda lvl: lvl.rank)
    prefix = {
        child.key: parent.code_length
        for parent, child in itertools.pairwise(by_rank)
        if child.parent_by == "prefix"
    }
    for level in loading:  # before anything is replaced: the store's regions as reference
        if level.layer is not None:
            x, y, features = representative_points(level.layer.rows["wkb"])
            check_axis_order(
                conn, x, y, level.layer.crs, srid, level.layer.path, "features", features
            )
    for level in loading:
        if level.layer is None:
            continue
        conn.execute(text("DELETE FROM regions WHERE level_id = :id"), {"id": level_ids[level.key]})
        step(f"loading {level.name} ({len(level.layer.rows)} features)")
        layer = _in_known_crs(level.layer, srid)
        repaired = stage_layer(conn, layer, level.key, srid)
        result.notes.extend(f"{level.key}: {note}" for note in layer.notes)
        if repaired:
            result.notes.append(
                f"{level.key}: {len(repaired)} invalid geometries were repaired "
                f"(e.g. feature {repaired[0]['feature']} {repaired[0]['code']}: "
                f"{repaired[0]['reason']})"
            )
        conn.execute(
            text(
                """
                INSERT INTO regions (system_id, level_id, code, name, parent_code, geom, area_m2,
                                     run_id)
                SELECT :system_id, :level_id, code, name,
                       coalesce(left(code, CAST(:prefix AS integer)), parent_code), g,
                       ST_Area(ST_Transform(g, :area_srid)), :run
                FROM (SELECT s.*, ST_Multi(ST_SetSRID(s.geom, :srid)) AS g  -- staged without one
                      FROM (SELECT * FROM boundary_stage WHERE level_key = :key
                            ORDER BY feature_index) s) o
                """
            ),
            {
                "system_id": system_id,
                "level_id": level_ids[level.key],
                "run": run_id,
                "key": level.key,
                "area_srid": plan.area_srid or srid,
                "srid": srid,
                "prefix": prefix.get(level.key),
            },
        )
        level.repaired_geometries = len(repaired)
    for level in reversed(loading):  # finest first, so derived levels find their source
        if level.derive_from is None:
            continue
        step(f"deriving {level.name} by dissolving {level.derive_from}")
        conn.execute(text("DELETE FROM regions WHERE level_id = :id"), {"id": level_ids[level.key]})
        hierarchy.dissolve(
            conn,
            system_id=system_id,
            level_id=level_ids[level.key],
            from_level_id=level_ids[level.derive_from],
            code_length=level.code_length if level.derived_by == "prefix" else None,
            names=level.derived_names,
            parents=level.derived_parents,
            run_id=run_id,
            area_srid=plan.area_srid or srid,
        )
    # the parents and the checks that follow join the new regions: plan them on real counts
    conn.execute(text("ANALYZE regions"))
    for level in plan.levels:
        if level.reference is not None:
            _ref, ref_layer = level.reference
            stage_layer(conn, _in_known_crs(ref_layer, srid), f"<ref>{level.key}", srid)
    for parent, child in itertools.pairwise(by_rank):
        if plan.only_levels is None or child.key in plan.only_levels | plan.reparent:
            hierarchy.assign_parents(
                conn,
                level_id=level_ids[child.key],
                parent_level_id=level_ids[parent.key],
                parent_by=child.parent_by or "containment",
                parent_code_length=parent.code_length,
            )
            for fill in child.fills:
                step(f"filling {child.name} {fill.code} from {parent.name} {fill.parent}")
                result.notes.append(
                    hierarchy.fill_from_parent(
                        conn,
                        level_id=level_ids[child.key],
                        parent_level_id=level_ids[parent.key],
                        fill=fill,
                        run_id=run_id,
                        area_srid=plan.area_srid or srid,
                    )
                )


def _in_known_crs(layer: RegionLayer, srid: int) -> RegionLayer:
    """PostGIS transforms from EPSG codes; a CRS without one is transformed here with pyproj."""
    if layer.epsg is not None:
        return layer
    transformer = Transformer.from_crs(layer.crs, CRS.from_epsg(srid), always_xy=True)
    geoms = shapely.from_wkb(layer.rows["wkb"].to_numpy())
    moved = shapely.transform(geoms, lambda xy: _transform_xy(transformer, xy))
    rows = layer.rows.copy()
    rows["wkb"] = list(shapely.to_wkb(moved, output_dimension=2))
    return RegionLayer(
        path=layer.path,
        rows=rows,
        crs=CRS.from_epsg(srid),
        epsg=srid,
        notes=[*layer.notes, f"transformed from a custom CRS ({layer.crs.name})"],
        repaired_codes=layer.repaired_codes,
    )


def _transform_xy(transformer: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _run_checks(
    conn: Connection,
    plan: SystemPlan,
    system_id: int,
    level_ids: dict[str, int],
    result: IngestResult,
) -> None:
    by_rank = sorted(plan.levels, key=lambda lvl: lvl.rank)
    # siblings can only overlap anew where regions or their parents changed in this load
    changed = None if plan.only_levels is None else plan.only_levels | plan.reparent
    for level in by_rank:
        result.checks.append(hierarchy.check_unique_codes(conn, level.key, level_ids[level.key]))
        if changed is None or level.key in changed:
            result.checks.append(
                hierarchy.check_sibling_overlaps(conn, level.key, level_ids[level.key])
            )
    for parent, child in itertools.pairwise(by_rank):
        result.checks.append(
            hierarchy.check_parents(conn, child.key, level_ids[child.key], level_ids[parent.key])
        )
        result.checks.append(
            hierarchy.check_area_sums(conn, parent.key, level_ids[parent.key], level_ids[child.key])
        )
    for level in by_rank:
        if level.reference is not None:
            ref, ref_layer = level.reference
            result.checks.append(
                hierarchy.check_against_reference(
                    conn, level.key, level_ids[level.key], ref_layer.path.name, ref.tolerance
                )
            )


def _summary(
    conn: Connection, plan: SystemPlan, level_ids: dict[str, int], result: IngestResult
) -> list[dict]:
    stats = {
        row.level_id: row
        for row in conn.execute(
            text(
                "SELECT level_id, count(*) AS n, sum(area_m2) AS area FROM regions "
                "WHERE level_id = ANY(:ids) GROUP BY level_id"
            ),
            {"ids": list(level_ids.values())},
        )
    }
    summary = []
    for level in sorted(plan.levels, key=lambda lvl: lvl.rank):
        row = stats.get(level_ids[level.key])
        summary.append(
            {
                "level": level.key,
                "name": level.name,
                "features": row.n if row else 0,
                "repaired_geometries": level.repaired_geometries,
                "repaired_codes": level.layer.repaired_codes if level.layer else 0,
                "area_km2": round((row.area or 0) / 1e6, 2) if row else 0.0,
                "derived": level.derive_from is not None,
            }
        )
    return summary
