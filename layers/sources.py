"""Region levels with indicator values, and facilities of a category, as feature sources for
exports, OGC API Features and vector tiles (see ``spatial.features``).

Indicator values are read from the indicator store, joined to the stored geometry by region id
(tables not stored yet come from the analysis layer and travel as bound arrays), so each
consumer reads geometry straight from the store and the numbers are exactly those of the map
and the tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import cached_indicator, cached_table, periods_of
from layers.credits import indicator_attribution
from layers.errors import InvalidParameter, NotComputable, NotFound
from layers.facilities import check_category
from layers.levels import Level, ancestor_ids, get_level
from layers.materialize import is_stored
from layers.regions import find_region, regions_of_level
from spatial.features import (
    Attribution,
    FeatureSource,
    Field,
    array_literal,
    extent_of,
    storage_srid,
)

MAX_INDICATORS = 60
_KIND = {"count": "float", "class": "int"}


def slug(key: str) -> str:
    """A name part for files: lower case, dashes."""
    return key.replace("_", "-").lower()


def _region_ids(conn: Connection, level: Level, system: str, code: str) -> list[int]:
    """Ids of the regions of ``level`` inside the region ``code`` (itself, or its
    descendants when it is coarser)."""
    region = find_region(conn, system, code)
    if region.level.rank > level.rank:
        raise InvalidParameter(
            f"region {code} ({region.level.name}) is finer than the level {level.key}; choose a "
            "finer level or a coarser region"
        )
    if region.level.id == level.id:
        return [region.id]
    return [
        base for base, top in ancestor_ids(conn, level, region.level).items() if top == region.id
    ]


def level_bounds(conn: Connection, level_id: int) -> tuple[float, ...]:
    """WGS 84 bounds of a level as the store keeps them (the whole world when empty)."""
    bounds = conn.execute(
        text("SELECT bounds FROM region_levels WHERE id = :l"), {"l": level_id}
    ).scalar()
    return tuple(bounds) if bounds else (-180.0, -90.0, 180.0, 90.0)


def _indicator_period(conn, cache, meta, level: Level, period: date) -> date | None:
    """The indicator's latest period at or before ``period``."""
    earlier = [p for p in periods_of(conn, meta, level, cache) if p <= period]
    return earlier[-1] if earlier else None


def region_source(
    conn: Connection,
    cache: LayerCache,
    system: str,
    level: str,
    indicators: list[str],
    period: date | None = None,
    region: str | None = None,
    skip_unavailable: bool = False,
    join_stored: bool = True,
) -> FeatureSource:
    """The regions of a level with the chosen indicators as attributes: each indicator at
    ``period`` or its latest period before it (named in the field title and the notes);
    ``no_data`` and suppressed values are empty. Default period: the latest of the first
    indicator. With ``skip_unavailable``, indicators that cannot be computed at the level are
    left out (noted) instead of refused. Values the store holds are joined by region id (a
    tile or a page reads the values of its regions only, whatever the size of the level);
    tables not stored yet, and every table with ``join_stored=False``, travel as bound
    arrays."""
    target = get_level(conn, system, level)
    if len(indicators) > MAX_INDICATORS:
        raise InvalidParameter(f"at most {MAX_INDICATORS} indicators per layer")
    if len(set(indicators)) != len(indicators):
        raise InvalidParameter("an indicator is named twice")
    metas = [cached_indicator(conn, cache, key) for key in indicators]
    if period is None and metas:
        known = periods_of(conn, metas[0], target, cache)
        period = known[-1] if known else None
    fields = [
        Field("code", "text", "Schlüssel"),
        Field("name", "text", "Name"),
        Field("parent_code", "text", "Schlüssel der übergeordneten Region"),
        Field("area_km2", "float", "Fläche (km²)"),
    ]
    notes, attributions = [], level_attribution(conn, target)
    by_indicator: dict[str, dict[str, float | None]] = {}
    kept, used_by = [], {}
    stored: dict[str, tuple[int, date]] = {}  # joined from the indicator store in SQL
    for meta in metas:
        used = _indicator_period(conn, cache, meta, target, period) if period else None
        values: dict[str, float | None] = {}
        if used is None:
            notes.append(f"{meta.key}: no values at or before {period}")
        elif join_stored and is_stored(conn, meta, target, used):
            stored[meta.key] = (meta.id, used)
            if used != period:
                notes.append(f"{meta.key}: latest period {used:%Y-%m-%d}")
        else:
            try:
                rows = cached_table(conn, cache, system, level, meta.key, used).rows
            except NotComputable as exc:
                if exc.published_at:  # a published share: the field stays, empty, and says why
                    notes.append(f"{meta.key}: nur für {exc.published_at} veröffentlicht")
                    rows = pd.DataFrame(columns=["code", "value", "status"])
                elif not skip_unavailable:
                    raise
                else:
                    notes.append(f"{meta.key}: left out ({exc})")
                    continue
            values = {
                c: (None if s != "valid" or pd.isna(v) else float(v))
                for c, v, s in zip(rows["code"], rows["value"], rows["status"], strict=True)
            }
            if used != period and not rows.empty:
                notes.append(f"{meta.key}: latest period {used:%Y-%m-%d}")
        kept.append(meta)
        used_by[meta.key] = used
        by_indicator[meta.key] = values
        unit = f", {meta.unit}" if meta.unit else ""
        title = f"{meta.name_de} ({used:%d.%m.%Y}{unit})" if used else meta.name_de
        fields.append(Field(meta.key, _KIND.get(meta.kind, "float"), title))
    metas = kept
    attributions.extend(
        indicator_attribution(conn, *(m.key for m in metas), system_id=target.system_id)
    )
    used_periods = {m for m in used_by.values() if m is not None}
    params: dict = {"src_level": target.id}
    value_join, selects = _value_joins(conn, system, level, metas, stored, by_indicator, params)
    region_filter = ""
    if region is not None:
        params["src_ids"] = _region_ids(conn, target, system, region)
        region_filter = " AND r.id = ANY(CAST(:src_ids AS bigint[]))"
    relation = (
        "SELECT r.code AS fid, r.geom, ts.geom AS geom_tile, r.code, r.name, r.parent_code, "
        "round((r.area_m2 / 1e6)::numeric, 4)::float8 AS area_km2"
        + (f", {selects}" if selects else "")
        + " FROM regions r LEFT JOIN region_tile_shapes ts ON ts.region_id = r.id"
        + f" {value_join} WHERE r.level_id = :src_level{region_filter}"
    )
    name_parts = [system, target.key]
    if region is not None:
        name_parts.append(region)
    if metas:
        name_parts.append(
            "-".join(slug(m.key) for m in metas) if len(metas) <= 2 else f"{len(metas)}-indicators"
        )
    if period is not None and metas:
        # the file is named after the period its values are of, where they share one
        shown = used_periods.pop() if len(used_periods) == 1 else period
        name_parts.append(f"{shown:%Y-%m}")
    return FeatureSource(
        name="_".join(name_parts),
        title=f"{target.name} ({system})" + (f", Stand {period:%d.%m.%Y}" if metas else ""),
        relation=relation,
        params=params,
        fields=tuple(fields),
        geometry_type="MultiPolygon",
        srid=storage_srid(conn),
        attributions=tuple(dict.fromkeys(attributions)),
        id_kind="text",
        extent=level_bounds(conn, target.id),
        notes=tuple(notes),
        tile_geom="geom_tile",
    )


def _value_joins(
    conn: Connection,
    system: str,
    level: str,
    metas: list,
    stored: dict[str, tuple[int, date]],
    computed: dict[str, dict[str, float | None]],
    params: dict,
) -> tuple[str, str]:
    """The joins and columns that bring the indicator values to the regions: stored tables
    through one lateral lookup per region on the store's key (a tile or a page reads the values
    of its regions only, and the plan stays as simple for ten indicators as for one: a join per
    indicator cost more to plan than the tile took to build); tables not stored yet as bound
    arrays of the values per code."""
    joins, columns = [], []
    bound = [m for m in metas if m.key not in stored]
    looked_up = [m for m in metas if m.key in stored]
    for meta in metas:
        column = f"st.v{looked_up.index(meta) + 1}" if meta.key in stored else f'v."{meta.key}"'
        cast = "::int" if _KIND.get(meta.kind) == "int" else ""
        columns.append(f'{column}{cast} AS "{meta.key}"')
    if looked_up:
        params["src_si"] = "{" + ",".join(str(stored[m.key][0]) for m in looked_up) + "}"
        params["src_sp"] = "{" + ",".join(f"{stored[m.key][1]:%Y-%m-%d}" for m in looked_up) + "}"
        picks = ", ".join(
            f"max(iv.value) FILTER (WHERE w.n = {n}) AS v{n}" for n in range(1, len(looked_up) + 1)
        )
        joins.append(
            f"LEFT JOIN LATERAL (SELECT {picks} FROM unnest(CAST(:src_si AS integer[]), "
            "CAST(:src_sp AS date[])) WITH ORDINALITY AS w(i, p, n) "
            "JOIN indicator_values iv ON iv.indicator_id = w.i AND iv.level_id = r.level_id "
            "AND iv.period = w.p AND iv.region_id = r.id WHERE iv.status = 'valid') st ON true"
        )
    if bound:
        codes = [r["code"] for r in regions_of_level(conn, system, level)]
        for i, meta in enumerate(bound):
            params[f"src_v{i}"] = array_literal([computed[meta.key].get(c) for c in codes])
        casts = ", ".join(f"CAST(:src_v{i} AS float8[])" for i in range(len(bound)))
        names = ", ".join(f'"{m.key}"' for m in bound)
        joins.append(
            f"LEFT JOIN unnest(CAST(:src_codes AS text[]), {casts}) AS v(code, {names}) "
            "ON v.code = r.code"
        )
        params["src_codes"] = array_literal(codes)
    return " ".join(joins), ", ".join(columns)


def level_attribution(conn: Connection, level: Level) -> list[Attribution]:
    row = conn.execute(
        text(
            "SELECT s.name, coalesce(l.licence, s.licence) AS licence, "
            "coalesce(l.attribution, s.attribution) AS attribution "
            "FROM region_levels l JOIN region_systems s ON s.id = l.system_id WHERE l.id = :l"
        ),
        {"l": level.id},
    ).one()
    return [Attribution(f"Grenzen: {row.name}", row.licence, row.attribution)]


def facility_source(
    conn: Connection, category: str, system: str | None = None, region: str | None = None
) -> FeatureSource:
    """The facilities of a category (points) with name, address, capacity and provider; only
    those inside ``region`` (a code of any level of ``system``) when given."""
    check_category(conn, category)
    params: dict = {"src_category": category}
    inside = ""
    if region is not None:
        if system is None:
            raise InvalidParameter("region needs system, e.g. system=<key>&region=<code>")
        params["src_region"] = find_region(conn, system, region).id
        inside = (
            " AND EXISTS (SELECT 1 FROM facility_regions fr WHERE fr.facility_id = f.id "
            "AND fr.region_id = :src_region)"
        )
    label = conn.execute(
        text("SELECT plural_de FROM facility_categories WHERE key = :c"), {"c": category}
    ).scalar_one()
    relation = (
        "SELECT f.id AS fid, f.geom, f.id, f.category, f.name, f.address, f.capacity, "
        "f.provider, f.source_id, f.valid_on, f.period FROM facilities f "
        f"WHERE f.category = :src_category{inside}"
    )
    fields = (
        Field("id", "int", "Kennung"),
        Field("category", "text", "Kategorie"),
        Field("name", "text", "Name"),
        Field("address", "text", "Adresse"),
        Field("capacity", "int", "Kapazität"),
        Field("provider", "text", "Träger"),
        Field("source_id", "text", "Kennung in der Quelle"),
        Field("valid_on", "date", "Stand der Quelle"),
        Field("period", "date", "Zeitpunkt"),
    )
    return FeatureSource(
        name="_".join(["facilities", slug(category)] + ([region] if region else [])),
        title=label,
        relation=relation,
        params=params,
        fields=fields,
        geometry_type="Point",
        srid=storage_srid(conn),
        attributions=tuple(indicator_attribution(conn, f"{category}_count", f"{category}_places")),
        temporal=("period", "period"),
        extent=extent_of(conn, "facilities WHERE category = :c", {"c": category}),
    )


def known_region_layers(conn: Connection) -> list[tuple[str, str, str]]:
    """(system, level, level name) of every loaded level, newest system first."""
    rows = conn.execute(
        text(
            "SELECT s.key, l.key, l.name FROM region_levels l "
            "JOIN region_systems s ON s.id = l.system_id "
            "ORDER BY s.valid_from DESC NULLS LAST, s.key, l.rank"
        )
    ).all()
    if not rows:
        raise NotFound("no region system is loaded")
    return [tuple(r) for r in rows]
