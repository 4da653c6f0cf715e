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
    system, level = region.level.system, region.level.key
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
            table = cached_table(conn, cache, system, level, key, chosen)
            top_label = None
            if top is not None:
                top_table = cached_table(conn, cache, system, top.level.key, key, chosen)
                top_rows = top_table.rows.set_index("code")
                top_label = value_label(
                    meta, top_rows.at[top.code, "value"], top_rows.at[top.code, "status"]
                )
        except NotComputable as exc:
            if exc.published_at:  # a published share: say where it exists instead
                figures.append(_unavailable(meta, topics[key], chosen, exc.published_at))
            continue
        except LayerError:
            continue
        row = table.rows.set_index("code").loc[region.code]
        value = None if row["status"] != "valid" else float(row["value"])
        figures.append(
            Figure(
                key=key,
                name=meta.name_de,
                topic=topics[key],
                unit=meta.unit,
                period=chosen,
                value=value,
                status=row["status"],
                label=value_label(meta, value, row["status"]),
                top_label=top_label,
                city_label=value_label(meta, table.city_value),
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
    table = cached_table(conn, cache, region.level.system, region.level.key, key, period)
    rows = table.rows.set_index("code")
    if region.code not in rows.index or rows.at[region.code, "status"] != "valid":
        return None
    return float(rows.at[region.code, "value"])
