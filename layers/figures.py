"""Key figures of one region: indicator values beside those of its Bezirk (the coarsest level
containing it) and of the whole city, and an indicator's series over all periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import cached_indicator, cached_table, periods_of, value_label
from layers.errors import LayerError, NotComputable
from layers.materialize import stored_cell
from layers.meta import IndicatorMeta
from layers.regions import Region


@dataclass
class Figure:
    key: str
    name: str
    topic: str
    unit: str
    period: date
    value: float | None
    status: str
    label: str
    top_label: str | None  # the Bezirk's value (None when the region is a Bezirk itself)
    city_label: str


def catalog_keys(conn: Connection) -> list[str]:
    """Every indicator key, by topic and name."""
    return list(conn.execute(text("SELECT key FROM indicators ORDER BY topic, name_de")).scalars())


def region_figures(
    conn: Connection,
    cache: LayerCache,
    region: Region,
    top: Region | None,
    keys: list[str],
    period: date | None = None,
) -> list[Figure]:
    """The region's value of each indicator for ``period`` (else its latest), with the values
    of ``top`` and the city. Indicators without values for the region's system are left out."""
    figures = []
    topics = dict(conn.execute(text("SELECT key, topic FROM indicators")).all())
    for key in keys:
        try:
            meta = cached_indicator(conn, cache, key)
            periods = periods_of(conn, meta, region.level, cache)
        except LayerError:  # e.g. another city's composite whose inputs this store lacks
            continue
        if period is None:
            chosen = periods[-1] if periods else None
        else:
            chosen = period if period in periods else None
        if chosen is None:
            continue
        try:
            value, status, city = cell_of(conn, cache, meta, region, chosen)
            top_label = None
            if top is not None:
                top_value, top_status, _ = cell_of(conn, cache, meta, top, chosen)
                top_label = value_label(meta, top_value, top_status)
        except NotComputable as exc:
            if exc.published_at:  # a published share: say where it exists instead
                figures.append(_unavailable(meta, topics[key], chosen, exc.published_at))
            continue
        except LayerError:
            continue
        figures.append(
            Figure(
                key=key,
                name=meta.name_de,
                topic=topics[key],
                unit=meta.unit,
                period=chosen,
                value=value,
                status=status,
                label=value_label(meta, value, status),
                top_label=top_label,
                city_label=value_label(meta, city),
            )
        )
    return figures


def _unavailable(meta, topic: str, period: date, published_at: str) -> Figure:
    label = f"nur für {published_at} veröffentlicht"
    return Figure(
        meta.key, meta.name_de, topic, meta.unit, period, None, "unavailable", label, None, ""
    )


def series(
    conn: Connection, cache: LayerCache, region: Region, key: str
) -> list[tuple[date, float | None]]:
    """The region's value of ``key`` in every period on record (None where not valid)."""
    meta = cached_indicator(conn, cache, key)
    return [
        (period, value_at(conn, cache, region, key, period))
        for period in periods_of(conn, meta, region.level, cache)
    ]


def value_at(
    conn: Connection, cache: LayerCache, region: Region, key: str, period: date
) -> float | None:
    """The region's value of ``key`` at ``period`` (None where not valid)."""
    value, _status, _city = cell_of(conn, cache, cached_indicator(conn, cache, key), region, period)
    return value


def cell_of(
    conn: Connection, cache: LayerCache, meta: IndicatorMeta, region: Region, period: date
) -> tuple[float | None, str, float | None]:
    """The region's published value (None unless valid), its status and the city value: one
    row from the indicator store, else from the level's table."""
    stored = stored_cell(conn, meta, region.level, period, region.id)
    if stored is None:
        table = cached_table(conn, cache, region.level.system, region.level.key, meta.key, period)
        rows = table.rows.set_index("code")
        if region.code not in rows.index:
            return None, "no_data", table.city_value
        stored = (rows.at[region.code, "value"], rows.at[region.code, "status"], table.city_value)
    value, status, city = stored
    shown = None if status != "valid" or value is None or value != value else float(value)
    return shown, status, city
