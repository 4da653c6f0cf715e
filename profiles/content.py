"""Everything a region profile shows, read from the store: key figures beside the Bezirk and the
city with their change, the age structure and its development, the MSS classes of the
Planungsräume inside, facilities with supply ratios, projects, participation, the written
sections, the shapes for the maps, and the sources to credit. Pictures and documents are made
from this elsewhere (``profiles.pictures``, ``profiles.document``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import cached_indicator, cached_table, periods_of, value_label
from layers.classify import format_number
from layers.credits import indicator_attribution
from layers.errors import LayerError
from layers.facilities import facilities_by_category
from layers.figures import Figure, region_figures, series, value_at
from layers.levels import Level, levels_of
from layers.regions import Region, descendants_at, find_region, get_region_system, parents_of
from layers.sources import level_attribution
from profiles.settings import ProfileSettings
from records.events import events_per_year, list_events
from records.queries import project_counts_in_region, projects_in_region
from records.sections import sections_of
from spatial.cities import ClassMap, ProfileTemplate
from spatial.features import Attribution

# the locator map of a profile: at most this many districts around the region's own
LOCATOR_DISTRICTS = 60


@dataclass
class KeyFigure:
    figure: Figure
    changes: list[tuple[date, str]]  # (since when, signed change in German format)


@dataclass
class AgeBand:
    key: str
    name: str
    count: float | None
    share: float | None  # of the region's population, in %
    top_share: float | None
    city_share: float | None


@dataclass
class AgeStructure:
    period: date
    bands: list[AgeBand]
    history: list[tuple[date, list[float | None]]]  # counts of every band per period


@dataclass
class MssRow:
    code: str
    name: str
    status: str
    dynamics: str
    overall: str
    status_class: int | None


@dataclass
class MssPart:
    title: str
    period: date
    level_name: str
    rows: list[MssRow]
    status_counts: list[tuple[str, int]]
    class_labels: list[str]


@dataclass
class FacilityGroup:
    key: str
    plural: str
    count: int
    capacity: int | None
    unit: str | None
    period: date
    items: list[dict]
    supply: Figure | None


@dataclass
class Shapes:
    """Geometries in the store's CRS (metres) for the static maps."""

    districts: list[tuple[str, shapely.Geometry]]
    region: shapely.Geometry
    top_code: str | None
    parts: list[tuple[str, shapely.Geometry]]  # the finest regions inside, by code
    facilities: list[tuple[str, shapely.Geometry]]  # (category, point)


@dataclass
class Profile:
    region: Region
    parents: list[Region]
    system: dict
    generated: date
    internal: bool
    key_figures: list[KeyFigure]
    age: AgeStructure | None
    mss: MssPart | None
    facilities: list[FacilityGroup]
    projects: list[dict]
    project_status: list[tuple[str, int]]
    project_topics: list[tuple[str, int]]
    events: list[dict]
    event_years: list[tuple[int, int, int]]  # (year, events, participants)
    events_since: date
    sections: list[dict]
    shapes: Shapes
    credits: dict[str, list[Attribution]] = field(default_factory=dict)

    @property
    def top(self) -> Region | None:
        return self.parents[0] if self.parents else None

    @property
    def title(self) -> str:
        return f"{self.region.level.name} {self.region.name}"

    @property
    def sources(self) -> list[Attribution]:
        """Every source the profile draws on, each once."""
        return list(dict.fromkeys(a for part in self.credits.values() for a in part))

    def credit(self, part: str) -> str:
        """The caption's source line of one part (e.g. ``population``)."""
        return "; ".join(a.line() for a in self.credits.get(part, [])) or "eigene Erfassung"


def build_profile(
    conn: Connection,
    cache: LayerCache,
    system: str,
    code: str,
    *,
    level: str | None = None,
    internal: bool,
    settings: ProfileSettings,
    template: ProfileTemplate,
    credit: Attribution,
    today: date | None = None,
) -> Profile:
    """The profile of one region. ``internal``: for signed-in readers (sections not marked
    public, unpublished projects, the events themselves); otherwise only what is public."""
    today = today or date.today()
    region = find_region(conn, system, code, level)
    parents = parents_of(conn, region)
    top = parents[0] if parents else None
    levels = levels_of(conn, region.level.system_id)
    parts = descendants_at(conn, region, levels[-1])
    since = date(today.year - settings.event_years + 1, 1, 1)
    projects = projects_in_region(
        conn, system, region.code, public_only=not internal, limit=settings.max_items
    )
    project_status, project_topics = project_counts_in_region(
        conn, system, region.code, public_only=not internal
    )
    facilities = _facilities(conn, cache, region, top)
    used = [*template.key_indicators, *template.age_bands, template.population]
    used += [g.supply.key for g in facilities if g.supply]
    sys_id = region.level.system_id
    class_keys = [k for k in _class_keys(template.classes) if k]
    return Profile(
        region=region,
        parents=parents,
        system=get_region_system(conn, system) or {},
        generated=today,
        internal=internal,
        key_figures=_key_figures(conn, cache, region, top, template.key_indicators),
        age=_age_structure(conn, cache, region, top, template),
        mss=_mss(conn, cache, parts, template.classes),
        facilities=facilities,
        projects=projects,
        project_status=project_status,
        project_topics=project_topics,
        events=(
            list_events(
                conn, system=system, region=region.code, since=since, limit=settings.max_items
            )
            if internal
            else []
        ),
        event_years=events_per_year(conn, system=system, region=region.code, since=since),
        events_since=since,
        sections=_sections(conn, region, internal, template.sections),
        shapes=_shapes(conn, region, top, parts, levels[0]),
        credits={
            "boundaries": level_attribution(conn, region.level),
            "population": indicator_attribution(conn, template.population, system_id=sys_id),
            "indicators": indicator_attribution(conn, *used, system_id=sys_id),
            "mss": indicator_attribution(conn, *class_keys, system_id=sys_id),
            "facilities": _facility_attribution(conn, facilities),
            "records": [credit],
        },
    )


def signed_change(meta, change: float) -> str:
    """A change as the tables show it: sign, German number, percentage points for shares."""
    decimals = 0 if meta.kind == "count" else meta.decimals
    unit = "Prozentpunkte" if meta.unit == "%" else meta.unit
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return f"{sign}{format_number(abs(change), decimals)} {unit}".strip()


def _key_figures(conn, cache, region, top, keys) -> list[KeyFigure]:
    out = []
    for figure in region_figures(conn, cache, region, top, keys):
        meta = cached_indicator(conn, cache, figure.key)
        changes: list[tuple[date, str]] = []
        if meta.kind in ("count", "share", "rate") and figure.value is not None:
            periods = periods_of(conn, meta, region.level, cache)
            earlier = [p for p in periods if p < figure.period]
            # the previous period and the first on record: short- and long-term change (only
            # these two tables, not the whole series: each table covers the whole level)
            for period in sorted({earlier[-1], earlier[0]} if earlier else (), reverse=True):
                value = value_at(conn, cache, region, figure.key, period)
                if value is not None:
                    changes.append((period, signed_change(meta, figure.value - value)))
        out.append(KeyFigure(figure, changes))
    return out


def _age_structure(conn, cache, region, top, template: ProfileTemplate) -> AgeStructure | None:
    if not template.age_bands:
        return None
    population = cached_indicator(conn, cache, template.population)
    periods = periods_of(conn, population, region.level, cache)
    if not periods:
        return None
    period = periods[-1]

    def share(part: float | None, whole: float | None) -> float | None:
        return part / whole * 100 if part is not None and whole else None

    total = value_at(conn, cache, region, template.population, period)
    top_total = value_at(conn, cache, top, template.population, period) if top else None
    city_total = cached_table(
        conn, cache, region.level.system, region.level.key, template.population, period
    ).city_value
    bands, history = [], {}
    for key in template.age_bands:
        meta = cached_indicator(conn, cache, key)
        try:
            count = value_at(conn, cache, region, key, period)
            top_count = value_at(conn, cache, top, key, period) if top else None
            city = cached_table(conn, cache, region.level.system, region.level.key, key, period)
            for p, v in series(conn, cache, region, key):
                history.setdefault(p, {})[key] = v
        except LayerError:  # a band the system has no values for
            continue
        bands.append(
            AgeBand(
                key,
                meta.name_de,
                count,
                share(count, total),
                share(top_count, top_total),
                share(city.city_value, city_total),
            )
        )
    keys = [b.key for b in bands]
    return AgeStructure(
        period,
        bands,
        [(p, [history[p].get(k) for k in keys]) for p in sorted(history)],
    )


def _class_keys(classes: ClassMap | None) -> tuple[str | None, ...]:
    return (classes.status, classes.dynamics, classes.overall) if classes else ()


def _mss(conn, cache, parts: list[Region], classes: ClassMap | None) -> MssPart | None:
    """The city's monitoring classes (status, dynamics, overall) of the finest regions inside."""
    if not parts or classes is None:
        return None
    level = parts[0].level
    try:
        metas = [cached_indicator(conn, cache, k) if k else None for k in _class_keys(classes)]
        periods = periods_of(conn, metas[0], level, cache)
        if not periods:
            return None
        period = periods[-1]
        tables = [
            cached_table(conn, cache, level.system, level.key, m.key, period).rows.set_index("code")
            if m
            else None
            for m in metas
        ]
    except LayerError:  # the city's classes are not (all) in this store
        return None
    rows = []
    for part in parts:
        labels, status_class = [], None
        for meta, table in zip(metas, tables, strict=True):
            if meta is None or part.code not in table.index:
                labels.append("–")
                continue
            value, status = table.at[part.code, "value"], table.at[part.code, "status"]
            labels.append(value_label(meta, value, status))
            if meta is metas[0] and status == "valid":
                status_class = round(float(value))
        rows.append(MssRow(part.code, part.name, *labels, status_class))
    class_labels = list(metas[0].definition.get("class_labels", []))
    counts = Counter(r.status for r in rows)
    return MssPart(
        classes.title,
        period,
        level.name,
        rows,
        [(label, counts.get(label, 0)) for label in class_labels],
        class_labels,
    )


def supply_indicator(conn: Connection, category: str) -> str | None:
    """The catalog's supply ratio of a facility category: the derived indicator whose formula
    starts from the category's places (e.g. Kita places per 100 children under 6)."""
    return conn.execute(
        text(
            "SELECT key FROM indicators WHERE definition->>'expression' LIKE :p "
            "ORDER BY key LIMIT 1"
        ),
        {"p": f"{category}\\_places %"},
    ).scalar()


def _facilities(conn, cache, region: Region, top: Region | None) -> list[FacilityGroup]:
    groups = []
    for row in facilities_by_category(conn, region):
        key = supply_indicator(conn, row["key"])
        supply = region_figures(conn, cache, region, top, [key]) if key else []
        groups.append(
            FacilityGroup(
                key=row["key"],
                plural=row["plural_de"],
                count=row["facilities"],
                capacity=row["capacity"],
                unit=row["capacity_unit"],
                period=row["period"],
                items=row["items"],
                supply=supply[0] if supply else None,
            )
        )
    return groups


def _facility_attribution(conn: Connection, groups: list[FacilityGroup]) -> list[Attribution]:
    keys = [f"{g.key}_{suffix}" for g in groups for suffix in ("count", "places")]
    return indicator_attribution(conn, *keys) if keys else []


def _sections(
    conn: Connection, region: Region, internal: bool, standard: dict[str, str]
) -> list[dict]:
    """The written sections, with an empty place for each standard one not (publicly) written."""
    written = sections_of(conn, region.id, public_only=not internal, standard=standard)
    present = {s["key"] for s in written}
    missing = [
        {"key": key, "title": title, "body": "", "version": 0, "public": False, "missing": True}
        for key, title in standard.items()
        if key not in present
    ]
    order = list(standard)
    return sorted(
        written + missing,
        key=lambda s: order.index(s["key"]) if s["key"] in order else len(order),
    )


def _geometries(conn: Connection, sql: str, params: dict) -> list[tuple[str, shapely.Geometry]]:
    rows = conn.execute(text(sql), params).all()
    return [(r.key, shapely.from_wkb(r.wkb)) for r in rows]


def _shapes(
    conn: Connection, region: Region, top: Region | None, parts: list[Region], coarsest: Level
) -> Shapes:
    # simplified on the server: a city-wide locator needs ~40 m, the region itself ~2 m; the
    # locator shows the districts nearest (by bounding box) the region's own: all of them in a
    # city, a bounded neighbourhood in a store of many
    districts = _geometries(
        conn,
        "SELECT code AS key, ST_AsBinary(ST_SimplifyPreserveTopology(geom, 40)) AS wkb FROM ("
        " SELECT code, geom FROM regions WHERE level_id = :level"
        " ORDER BY geom <#> (SELECT geom FROM regions WHERE id = :centre) LIMIT :most) d "
        "ORDER BY code",
        {"level": coarsest.id, "centre": (top or region).id, "most": LOCATOR_DISTRICTS},
    )
    own = _geometries(
        conn,
        "SELECT code AS key, ST_AsBinary(ST_SimplifyPreserveTopology(geom, 2)) AS wkb "
        "FROM regions WHERE id = ANY(:ids) ORDER BY code",
        {"ids": [region.id, *(p.id for p in parts)]},
    )
    shapes = dict(own)
    points = _geometries(
        conn,
        "SELECT f.category AS key, ST_AsBinary(f.geom) AS wkb FROM facility_regions fr "
        "JOIN facilities f ON f.id = fr.facility_id WHERE fr.region_id = :region "
        "ORDER BY f.category, f.id",
        {"region": region.id},
    )
    return Shapes(
        districts=districts,
        region=shapes[region.code],
        top_code=top.code if top else region.code if region.level.id == coarsest.id else None,
        parts=[(p.code, shapes[p.code]) for p in parts],
        facilities=points,
    )
