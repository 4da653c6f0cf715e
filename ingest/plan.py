"""Plans for a boundary ingest: which levels a system has, which files they come from (read
and validated), which are derived by dissolving, and how parents are found. Building a plan
touches files only; :mod:`ingest.boundaries` writes it to the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError
from ingest.manifest import Level, ReferenceCheck, Source, SystemManifest
from ingest.readers import FieldMap, RegionLayer, read_region_layer
from ingest.sources import ProgressHook, companion_files, resolve_source
from spatial.settings import DataSettings

Step = Callable[[str], None]


@dataclass
class LevelPlan:
    key: str
    name: str
    rank: int
    code_length: int | None = None
    parent_by: str | None = None  # field | prefix | containment; None for the coarsest level
    layer: RegionLayer | None = None
    derive_from: str | None = None
    derived_names: dict[str, str] = field(default_factory=dict)
    reference: tuple[ReferenceCheck, RegionLayer] | None = None
    source: Source | None = None
    repaired_geometries: int = 0


@dataclass
class SystemPlan:
    key: str
    name: str
    city: str
    levels: list[LevelPlan]
    valid_from: object = None
    valid_to: object = None
    landing_page: str | None = None
    licence: str | None = None
    attribution: str | None = None
    only_levels: set[str] | None = None  # single-file mode: the system exists, add/replace these


def plan_from_manifest(
    manifest: SystemManifest,
    settings: DataSettings,
    *,
    apply_fixes: bool = False,
    step: Step | None = None,
    download: ProgressHook | None = None,
) -> tuple[SystemPlan, list[Path]]:
    """Fetch and read every file a manifest names; returns the plan and the files read."""
    files: list[Path] = []
    levels: list[LevelPlan] = []

    def read(source: Source, fields: FieldMap) -> RegionLayer:
        if step:
            step(f"reading {source.title}")
        path = resolve_source(source, settings, download)
        files.extend(companion_files(path))
        return read_region_layer(path, fields)

    for rank, level in enumerate(manifest.levels):
        plan = LevelPlan(
            key=level.key,
            name=level.name,
            rank=rank,
            code_length=level.code_length,
            source=level.source,
        )
        if rank > 0:
            plan.parent_by = _parent_rule(level, manifest.levels[rank - 1])
        if level.source is not None:
            extra = _name_fields_wanted_from(manifest, level.key)
            fields = FieldMap(
                code_field=level.code_field or "",
                name_field=level.name_field,
                parent_field=level.parent_field,
                code_length=level.code_length,
                crs=level.source.crs,
                layer=level.source.layer,
                extra_fields=extra,
                fixes=tuple(level.fixes),
                apply_fixes=apply_fixes,
            )
            try:
                plan.layer = read(level.source, fields)
            except IngestError as exc:
                if level.fixes and not apply_fixes:
                    raise IngestError(
                        f"{exc}; the manifest lists {len(level.fixes)} known correction(s) "
                        "for this file: rerun with --apply-fixes"
                    ) from exc
                raise
        else:
            plan.derive_from = level.derive.from_level
        if level.check_against is not None:
            ref = level.check_against
            ref_layer = read(
                ref.source,
                FieldMap(
                    code_field=ref.code_field,
                    name_field=ref.name_field,
                    code_length=level.code_length,
                    crs=ref.source.crs,
                    layer=ref.source.layer,
                ),
            )
            plan.reference = (ref, ref_layer)
        levels.append(plan)

    for level, plan in zip(manifest.levels, levels, strict=True):
        if level.derive is not None:
            plan.derived_names = _derived_names(level, plan, levels)
    system = SystemPlan(
        key=manifest.key,
        name=manifest.name,
        city=manifest.city,
        levels=levels,
        valid_from=manifest.valid_from,
        valid_to=manifest.valid_to,
        landing_page=manifest.landing_page,
        licence=manifest.licence,
        attribution=manifest.attribution,
    )
    return system, files


def _parent_rule(level: Level, parent: Level) -> str:
    if level.parent_by:
        return level.parent_by
    if level.parent_field:
        return "field"
    if level.code_length and parent.code_length and parent.code_length < level.code_length:
        return "prefix"
    return "containment"


def _name_fields_wanted_from(manifest: SystemManifest, level_key: str) -> tuple[str, ...]:
    return tuple(
        lvl.derive.name_field
        for lvl in manifest.levels
        if lvl.derive and lvl.derive.from_level == level_key and lvl.derive.name_field
    )


def _derived_names(level: Level, plan: LevelPlan, plans: list[LevelPlan]) -> dict[str, str]:
    """Names of a dissolved level: the manifest's table, a field of the finer file, or the
    reference file's names."""
    names: dict[str, str] = {}
    if plan.reference is not None and plan.reference[0].name_field:
        rows = plan.reference[1].rows
        names.update(zip(rows["code"], rows["name"], strict=True))
    source_plan = next(p for p in plans if p.key == level.derive.from_level)
    if level.derive.name_field and source_plan.layer is not None:
        rows = source_plan.layer.rows
        prefix = rows["code"].str.slice(0, level.code_length)
        most_common = rows.groupby(prefix)[level.derive.name_field].agg(
            lambda s: s.mode().iat[0] if not s.mode().empty else None
        )
        names.update({k: v for k, v in most_common.items() if v})
    names.update(level.derive.names)
    return names
