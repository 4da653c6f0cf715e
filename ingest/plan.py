"""Plans for a boundary ingest: which levels a system has, which files they come from (read
and validated), which are derived by dissolving, and how parents are found. Building a plan
touches files only; :mod:`ingest.boundaries` writes it to the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from ingest.errors import IngestError
from ingest.manifest import Level, ReferenceCheck, Source, SystemManifest
from ingest.names import code_from_name, normalise_name
from ingest.readers import FieldMap, RegionLayer, as_code_text, read_region_layer
from ingest.sources import ProgressHook, companion_files, resolve_source
from ingest.tables import read_table
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
    derived_by: str = "prefix"  # prefix | key_table (dissolved by the finer level's parents)
    derived_names: dict[str, str] = field(default_factory=dict)
    derived_parents: dict[str, str] = field(default_factory=dict)
    reference: tuple[ReferenceCheck, RegionLayer] | None = None
    source: Source | None = None
    repaired_geometries: int = 0
    fills: list = field(default_factory=list)  # manifest Fill entries


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
    reparent: set[str] = field(default_factory=set)  # loaded levels that get their parents anew
    area_srid: int | None = None  # areas are measured in the city's official CRS


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
        plan.fills = list(level.fill)
        if level.source is not None:
            extra = _name_fields_wanted_from(manifest, level.key)
            generated = level.codes == "generated"
            fields = FieldMap(
                code_field=(level.name_field if generated else level.code_field) or "",
                generate_codes=generated,
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
                for extra in level.more_sources:
                    plan.layer = join_layers(plan.layer, read(extra, fields))
            except IngestError as exc:
                if level.fixes and not apply_fixes:
                    raise IngestError(
                        f"{exc}; the manifest lists {len(level.fixes)} known correction(s) "
                        "for this file: rerun with --apply-fixes"
                    ) from exc
                raise
        else:
            plan.derive_from = level.derive.from_level
            plan.derived_by = level.derive.by
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

    if manifest.key_table is not None:
        table = manifest.key_table
        path = resolve_source(table.source, settings, download)
        files.extend(companion_files(path))
        rows = read_table(path, delimiter=table.delimiter, encoding=table.encoding)
        apply_key_table(manifest, levels, rows, path)
    for level, plan in zip(manifest.levels, levels, strict=True):
        if level.derive is not None and level.derive.by == "prefix":
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
    if level.parent_field or (parent.derive and parent.derive.by == "key_table"):
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


def apply_key_table(
    manifest: SystemManifest, plans: list[LevelPlan], table: pd.DataFrame, path: Path
) -> None:
    """Parents of the key table's file level and the regions of the levels it derives.

    The finest level's features are found in the key table by name (normalised, so spellings
    such as 'St.Pauli' and 'St. Pauli' meet); each derived level's regions are the distinct
    values of its column, their codes made from those names, their parents the values of the
    next coarser derived level's column (which must be one per region)."""
    spec = manifest.key_table
    chain = [lvl for lvl in manifest.levels if lvl.derive and lvl.derive.by == "key_table"]
    chain.reverse()  # finest derived level first
    by_key = {lvl.key: plan for lvl, plan in zip(manifest.levels, plans, strict=True)}
    wanted = [spec.key_column, spec.code_column]
    wanted += [c for lvl in chain for c in (lvl.derive.column, lvl.derive.code_column)]
    for column in [c for c in wanted if c]:
        if column not in table.columns:
            raise IngestError(
                f"no such column (columns are: {', '.join(table.columns)})", file=path, field=column
            )
    base = by_key[chain[0].derive.from_level]
    if base.layer is None:
        raise IngestError(
            f"the key table assigns level {base.key!r}, which must be read from a file", file=path
        )
    keys = table[spec.key_column].map(normalise_name)
    doubled = table[keys.duplicated(keep=False)]
    if not doubled.empty:
        raise IngestError(
            f"{doubled[spec.key_column].iat[0]!r} appears {len(doubled)} times",
            file=path,
            field=spec.key_column,
        )
    index = dict(zip(keys, table.index, strict=True))
    rows = base.layer.rows
    found = rows["name"].map(lambda n: index.get(normalise_name(n)))
    if found.isna().any():
        missing = rows[found.isna()]
        first = missing.iloc[0]
        raise IngestError(
            f"{len(missing)} {base.name} features are not in the key table {path.name}, "
            f"e.g. {first['name']!r}",
            file=base.layer.path,
            feature=int(first["feature_index"]),
        )
    unused = sorted(set(table.index) - set(found.astype(int)))
    if unused:
        base.layer.notes.append(
            f"{len(unused)} rows of the key table have no feature, e.g. "
            f"{table.at[unused[0], spec.key_column]!r}"
        )
    picked = table.loc[found.astype(int).to_numpy()]
    if spec.code_column:  # the key table gives the codes; the file only names the regions
        rows["code"] = picked[spec.code_column].map(as_code_text).to_numpy()
        if rows["code"].isna().any() or rows["code"].duplicated().any():
            raise IngestError(
                f"column {spec.code_column!r} must give every {base.name} its own code",
                file=path,
                field=spec.code_column,
            )
        base.layer.notes[:] = [n for n in base.layer.notes if not n.startswith("codes generated")]
        base.layer.notes.append(f"codes from the key table's column {spec.code_column!r}")

    def codes_of(level) -> pd.Series:
        if level.derive.code_column:
            return table[level.derive.code_column].map(as_code_text)
        return table[level.derive.column].map(_code_or_none)

    rows["parent_code"] = codes_of(chain[0]).loc[picked.index].to_numpy()
    for finer, coarser in zip(chain, [*chain[1:], None], strict=True):
        plan = by_key[finer.key]
        plan.derived_names = dict(zip(codes_of(finer), table[finer.derive.column], strict=True))
        if coarser is None:
            continue
        pairs = pd.DataFrame(
            {
                "child": codes_of(finer),
                "parent": codes_of(coarser),
                "c": table[coarser.derive.column],
            }
        ).drop_duplicates(["child", "parent"])
        split = pairs[pairs["child"].duplicated(keep=False)]
        if not split.empty:
            code = split["child"].iat[0]
            raise IngestError(
                f"{plan.name} {plan.derived_names.get(code, code)!r} lies in several regions of "
                f"{coarser.name}: " + ", ".join(sorted(split["c"].astype(str).unique())),
                file=path,
                field=coarser.derive.column,
            )
        plan.derived_parents = dict(zip(pairs["child"], pairs["parent"], strict=True))


def _code_or_none(name: object) -> str | None:
    """An empty key-table cell is no parent (never the text 'nan')."""
    text = "" if name is None or (isinstance(name, float) and name != name) else str(name)
    return code_from_name(text) or None


def join_layers(first: RegionLayer, second: RegionLayer) -> RegionLayer:
    """One level from two files: features of the second follow the first; a code in both
    (an exclave kept in a neighbour's file) becomes one region of both parts."""
    rows = pd.concat([first.rows, second.rows], ignore_index=True)
    if first.epsg != second.epsg:
        raise IngestError(
            f"{second.path.name} is in {second.crs.to_string()}, {first.path.name} in "
            f"{first.crs.to_string()}: the files of one level must share a CRS",
            file=second.path,
        )
    rows["feature_index"] = range(len(rows))
    shared = sorted(set(first.rows["code"]) & set(second.rows["code"]))
    if shared:
        geoms = shapely.from_wkb(rows["wkb"].to_numpy())
        merged = []
        for code in shared:
            same = rows.index[rows["code"] == code]
            geoms[same[0]] = shapely.union_all(geoms[same])
            merged.extend(same[1:])
        rows["wkb"] = list(shapely.to_wkb(geoms, output_dimension=2))
        rows = rows.drop(index=merged).reset_index(drop=True)
    notes = [*first.notes, *second.notes]
    if shared:
        notes.append(
            f"{len(shared)} regions lie in both {first.path.name} and {second.path.name} and "
            f"were joined (e.g. {shared[0]})"
        )
    return RegionLayer(
        path=first.path,
        rows=rows,
        crs=first.crs,
        epsg=first.epsg,
        notes=notes,
        repaired_codes=first.repaired_codes + second.repaired_codes,
    )
