"""The boundary ingest jobs the CLI runs: a whole system from its manifest, or one level of a
system from a user file or URL (Shapefile, GeoJSON, GeoPackage, FlatGeobuf, WFS GetFeature)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ingest.boundaries import IngestResult, load_plan
from ingest.errors import IngestError
from ingest.manifest import load_manifest, manifest_keys
from ingest.plan import LevelPlan, Step, SystemPlan, plan_from_manifest
from ingest.readers import FieldMap, read_region_layer
from ingest.sources import ProgressHook, companion_files, fetch_url, input_checksum
from spatial.cities import city_of_system
from spatial.settings import DataSettings


def ingest_system(
    engine: Engine,
    system: str,
    settings: DataSettings,
    *,
    srid: int,
    force: bool = False,
    apply_fixes: bool = False,
    step: Step | None = None,
    download: ProgressHook | None = None,
) -> IngestResult:
    """Load every level of ``system`` as its manifest describes."""
    manifest = load_manifest(settings.manifest_dir, system)
    plan, files = plan_from_manifest(
        manifest, settings, apply_fixes=apply_fixes, step=step, download=download
    )
    plan.area_srid = area_srid_of(settings, system)
    options = {
        "apply_fixes": apply_fixes,
        "manifest": manifest.model_dump(mode="json"),
        "area_srid": plan.area_srid,
    }
    return load_plan(
        engine,
        plan,
        srid=srid,
        checksum=input_checksum(files, options),
        source_label=system,
        options={"apply_fixes": apply_fixes},
        force=force,
        step=step,
    )


@dataclass(frozen=True)
class FileLevel:
    """What the user says about a single file: the level it is and how its fields map."""

    system: str
    level: str
    fields: FieldMap
    level_name: str | None = None
    system_name: str | None = None
    city: str | None = None
    above: bool = False  # a new level coarser than every loaded one (e.g. Bezirke added later)


def ingest_file(
    engine: Engine,
    source: str,
    spec: FileLevel,
    settings: DataSettings,
    *,
    srid: int,
    force: bool = False,
    step: Step | None = None,
    download: ProgressHook | None = None,
) -> IngestResult:
    """Load one file (or URL) as a level of a (new or existing) region system.

    The level becomes the finest level of the system (with ``spec.above`` the coarsest: the
    level below it then gets its parents from it), or replaces the level of the same key; its
    parent level is the next coarser one (by parent field, code prefix, or largest overlap).
    """
    if source.startswith(("http://", "https://")):
        if step:
            step(f"downloading {source}")
        path = fetch_url(source, settings, download)
    else:
        path = Path(source).expanduser().resolve()
    if step:
        step(f"reading {path.name}")
    layer = read_region_layer(path, spec.fields)
    levels = _existing_levels(engine, spec.system)
    current = next((lvl for lvl in levels if lvl.key == spec.level), None)
    reparent: set[str] = set()
    if current is None:
        if spec.above and levels:
            rank = min(lvl.rank for lvl in levels) - 1
            below = min(levels, key=lambda lvl: lvl.rank)
            below.parent_by = _rule(
                current_length=below.code_length, parent_length=spec.fields.code_length
            )
            reparent.add(below.key)
        else:
            rank = max((lvl.rank for lvl in levels), default=-1) + 1
        current = LevelPlan(key=spec.level, name=spec.level_name or spec.level, rank=rank)
        levels.append(current)
    current.layer = layer
    current.code_length = spec.fields.code_length or current.code_length
    if spec.level_name:
        current.name = spec.level_name
    coarser = [lvl for lvl in levels if lvl.rank < current.rank]
    if coarser:
        parent = max(coarser, key=lambda lvl: lvl.rank)
        current.parent_by = (
            "field"
            if spec.fields.parent_field
            else _rule(current_length=current.code_length, parent_length=parent.code_length)
        )
    if spec.fields.parent_field and not coarser:
        raise IngestError(
            f"--parent-field given but {spec.system!r} has no coarser level than {spec.level!r}"
        )
    plan = SystemPlan(
        key=spec.system,
        name=spec.system_name or spec.system,
        city=spec.city or "",
        levels=sorted(levels, key=lambda lvl: lvl.rank),
        only_levels={spec.level},
        reparent=reparent,
        area_srid=area_srid_of(settings, spec.system),
    )
    options = {"source": source, "level": spec.level, "fields": repr(spec.fields)}
    return load_plan(
        engine,
        plan,
        srid=srid,
        checksum=input_checksum(companion_files(path), options),
        source_label=f"{spec.system}:{spec.level}",
        options=options,
        force=force,
        step=step,
    )


def _rule(*, current_length: int | None, parent_length: int | None) -> str:
    """Parents by code prefix where the parent's codes are shorter, else by largest overlap."""
    if parent_length and current_length and parent_length < current_length:
        return "prefix"
    return "containment"


def area_srid_of(settings: DataSettings, system: str) -> int | None:
    """The official CRS of the city that uses ``system``, in which its areas are measured."""
    pack = city_of_system(settings.packs(), system)
    return pack.srid if pack else None


def _existing_levels(engine: Engine, system: str) -> list[LevelPlan]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.key, l.name, l.rank, l.code_length FROM region_levels l "
                "JOIN region_systems s ON s.id = l.system_id WHERE s.key = :key ORDER BY l.rank"
            ),
            {"key": system},
        ).all()
    return [LevelPlan(key=r.key, name=r.name, rank=r.rank, code_length=r.code_length) for r in rows]


def load_everything(
    engine: Engine, settings: DataSettings, *, srid: int, cities: list[str] | None = None
) -> dict[str, int]:
    """Every region system, statistics source and facility source of the city packs (``cities``,
    default those in use); returns the run id per job (what the demo, the benchmark and the
    tests load)."""
    from ingest.facilities import ingest_facilities
    from ingest.statistics import ingest_statistics

    runs = {}
    for pack in settings.packs(cities):
        for system in pack.systems:
            runs[system.key] = ingest_system(
                engine, system.key, settings, srid=srid, apply_fixes=system.apply_fixes
            ).run_id
        for key in manifest_keys(settings.pack_dirs("statistics", [pack.key])):
            runs[key] = ingest_statistics(engine, key, settings).run_id
        for key in manifest_keys(settings.pack_dirs("facilities", [pack.key])):
            runs[key] = ingest_facilities(engine, key, settings, srid=srid).run_id
    return runs
