"""A dry run of a city pack: read every file it names (boundaries, key tables, statistics,
facilities) and say what would be loaded — levels with their counts, indicators and periods,
and the rows whose join to the regions fails, with why — without touching the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.catalog import load_catalog
from ingest.errors import IngestError
from ingest.facilities import load_facility_source
from ingest.facility_regions import load_categories
from ingest.manifest import load_manifest, manifest_keys
from ingest.names import normalise_name
from ingest.plan import LevelPlan, plan_from_manifest
from ingest.points import read_point_layer
from ingest.sources import resolve_source
from ingest.statistics_source import load_statistics_source, read_values
from spatial.cities import CityPack, load_city
from spatial.settings import DataSettings

EXAMPLES = 5


@dataclass
class CheckedLevel:
    system: str
    key: str
    name: str
    regions: int
    derived: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckedSource:
    key: str
    kind: str  # statistics | facilities
    rows: int = 0
    matched: int = 0
    indicators: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class CityCheck:
    pack: CityPack
    levels: list[CheckedLevel] = field(default_factory=list)
    sources: list[CheckedSource] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(s.problems for s in self.sources)


def _regions(plan: LevelPlan, plans: list[LevelPlan]) -> dict[str, str]:
    """Code → name of a planned level, as the load would create it."""
    if plan.layer is not None:
        rows = plan.layer.rows
        return dict(zip(rows["code"], rows["name"], strict=True))
    if plan.derived_by == "key_table":
        return dict(plan.derived_names)
    finer = _regions(next(p for p in plans if p.key == plan.derive_from), plans)
    codes = {code[: plan.code_length] for code in finer}
    return {code: plan.derived_names.get(code, code) for code in codes}


def check_city(directory: Path, settings: DataSettings) -> CityCheck:
    """Read the pack in ``directory`` (``data/cities/<city>``) and everything it names."""
    pack = load_city(directory.parent, directory.name)
    result = CityCheck(pack)
    planned: dict[tuple[str, str], dict[str, str]] = {}
    for system in pack.systems:
        try:
            manifest = load_manifest(settings.manifest_dir, system.key)
            plan, _files = plan_from_manifest(manifest, settings, apply_fixes=system.apply_fixes)
        except IngestError as exc:
            result.errors.append(f"{system.key}: {exc}")
            continue
        for level in plan.levels:
            regions = _regions(level, plan.levels)
            planned[(system.key, level.key)] = regions
            result.levels.append(
                CheckedLevel(
                    system.key,
                    level.key,
                    level.name,
                    len(regions),
                    level.derive_from is not None,
                    list(level.layer.notes) if level.layer else [],
                )
            )
    statistics = [pack.part("statistics")]
    for key in manifest_keys(statistics):
        result.sources.append(_check_statistics(key, statistics, settings, pack, planned))
    facilities = [pack.part("facilities")]
    categories = load_categories(settings.facility_categories_file)
    for key in manifest_keys(facilities):
        checked = CheckedSource(key, "facilities")
        try:
            spec = load_facility_source(facilities, key)
            layer = read_point_layer(resolve_source(spec.source, settings), spec, set(categories))
            checked.rows = checked.matched = len(layer.rows)
            checked.notes = list(layer.notes)
        except IngestError as exc:
            checked.problems.append(str(exc))
        result.sources.append(checked)
    return result


def _check_statistics(
    key: str,
    folders: list[Path],
    settings: DataSettings,
    pack: CityPack,
    planned: dict[tuple[str, str], dict[str, str]],
) -> CheckedSource:
    checked = CheckedSource(key, "statistics")
    try:
        spec = load_statistics_source(folders, key)
        catalogs = [load_catalog(settings.catalog_dirs([pack.key]), k) for k in spec.catalog_keys]
    except IngestError as exc:
        checked.problems.append(str(exc))
        return checked
    known = {i.key for c in catalogs for i in c.indicators}
    checked.indicators = sorted(spec.indicators)
    missing = sorted(spec.indicators - known)
    if missing:
        checked.problems.append(f"indicators not in the catalog: {', '.join(missing)}")
    regions = planned.get((spec.system, spec.level))
    if regions is None:
        checked.problems.append(f"{spec.system}/{spec.level} is not a level of this pack")
        return checked
    names = {normalise_name(n, spec.abbreviations): c for c, n in regions.items()}
    length = len(next(iter(regions))) if regions and not spec.name_column else None
    unmatched: dict[str, str] = {}
    periods: set[str] = set()
    for period, source in spec.files():
        try:
            path = resolve_source(source, settings)
            frame, notes = read_values(path, period, spec, length, names)
        except IngestError as exc:
            checked.problems.append(str(exc))
            continue
        checked.notes += notes
        rows = frame.drop_duplicates(["code", "line"])
        checked.rows += len(rows)
        totals = {normalise_name(t, spec.abbreviations) for t in spec.total_rows}
        for row in rows.itertuples():
            if row.code in regions:
                checked.matched += 1
            elif normalise_name(str(row.code), spec.abbreviations) not in totals:
                unmatched.setdefault(row.code, f"{row.file} line {row.line}")
        periods |= {p.isoformat() for p in frame["period"].dropna().unique()}
    checked.periods = sorted(periods)
    if unmatched:
        what = "names" if spec.name_column else "codes"
        listed = ", ".join(f"{c!r} ({w})" for c, w in list(unmatched.items())[:EXAMPLES])
        checked.problems.append(
            f"{len(unmatched)} {what} match no region of {spec.system}/{spec.level} "
            f"(no geometry): {listed}"
        )
    return checked
