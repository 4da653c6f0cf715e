"""Thematic region layers: an indicator at one level and period, classified and coloured, as a
GeoJSON FeatureCollection that PostGIS assembles from the stored display geometry.

Also the German labels of values ("12,3 %", "Status mittel, Dynamik stabil") shared by the map,
its tooltips, the region pages and the API.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.classify import (
    NO_DATA_LABEL,
    SUPPRESSED_LABEL,
    Classification,
    classify,
    format_number,
)
from layers.errors import InvalidParameter, NotComputable
from layers.indicators import IndicatorMeta, IndicatorTable, get_indicator, indicator_table
from layers.indicators import stored_periods as _stored_periods
from layers.levels import Level, get_level

BARE_UNITS = {"Anzahl"}  # units a number speaks for itself
STATUS_LABELS = {"no_data": "keine Daten", "suppressed": "unterdrückt"}
CLASS_STATUS_LABELS = {"no_data": NO_DATA_LABEL, "suppressed": SUPPRESSED_LABEL, "valid": ""}


@dataclass
class Choropleth:
    table: IndicatorTable
    classification: Classification

    @property
    def meta(self) -> IndicatorMeta:
        return self.table.indicator


def value_label(meta: IndicatorMeta, value: float | None, status: str = "valid") -> str:
    """A value as the UI shows it: German number format with unit, class names for classes."""
    if status != "valid" or value is None or (isinstance(value, float) and math.isnan(value)):
        return STATUS_LABELS.get(status, "keine Daten")
    labels = meta.definition.get("class_labels")
    if labels and meta.kind == "class":
        number = round(float(value))
        return labels[number - 1] if 1 <= number <= len(labels) else format_number(value)
    shown = format_number(value, meta.decimals)
    return f"{shown} {meta.unit}" if meta.unit and meta.unit not in BARE_UNITS else shown


def periods_of(
    conn: Connection, meta: IndicatorMeta, level: Level, cache: LayerCache | None = None
) -> list[date]:
    """Periods with values of the indicator in the level's system (through the cache if given:
    finding them scans the stored values)."""
    if cache is None:
        return _stored_periods(conn, meta, level.system_id)
    return cache.get_or_compute(
        conn,
        ("periods", meta.key, level.system_id),
        lambda: _stored_periods(conn, meta, level.system_id),
        scope=(level.system_id, meta.key),
    )


def resolve_period(
    conn: Connection,
    meta: IndicatorMeta,
    level: Level,
    period: date | None,
    cache: LayerCache | None = None,
) -> date:
    """The requested period, or the latest one with values; a period without values is refused
    with the periods that exist."""
    periods = periods_of(conn, meta, level, cache)
    if not periods:
        raise NotComputable(f"{meta.key} has no values in {level.system}")
    if period is None:
        return periods[-1]
    if period not in periods:
        shown = ", ".join(f"{p:%Y-%m-%d}" for p in periods)
        raise InvalidParameter(f"{meta.key} has no values for {period:%Y-%m-%d}; periods: {shown}")
    return period


def cached_table(
    conn: Connection, cache: LayerCache, system: str, level: str, key: str, period: date | None
) -> IndicatorTable:
    """``indicator_table`` for the period (latest when None), through the cache."""
    target = cache.get_or_compute(
        conn, ("level", system, level), lambda: get_level(conn, system, level)
    )
    meta = cached_indicator(conn, cache, key)
    chosen = resolve_period(conn, meta, target, period, cache)
    return cache.get_or_compute(
        conn,
        ("table", system, level, key, chosen),
        lambda: indicator_table(conn, system, level, key, chosen),
        scope=(target.system_id, key),
    )


def cached_indicator(conn: Connection, cache: LayerCache, key: str) -> IndicatorMeta:
    return cache.get_or_compute(conn, ("indicator", key), lambda: get_indicator(conn, key))


def default_method(meta: IndicatorMeta) -> str:
    return "fixed" if meta.kind == "class" or "composite" in meta.definition else "quantiles"


def build_choropleth(
    conn: Connection,
    cache: LayerCache,
    system: str,
    level: str,
    key: str,
    period: date | None = None,
    method: str | None = None,
    classes: int = 5,
    breaks: list[float] | None = None,
) -> Choropleth:
    table = cached_table(conn, cache, system, level, key, period)
    meta = table.indicator
    method = method or default_method(meta)
    if meta.kind == "class" and method != "fixed":
        raise InvalidParameter(f"{meta.key} is a classification itself; use method=fixed")
    # the map page (legend) and the choropleth endpoint ask for the same classes
    classification = cache.get_or_compute(
        conn,
        ("classes", system, level, key, table.period, method, classes, tuple(breaks or ())),
        lambda: classify(table.rows, meta, method, classes, breaks),
        scope=(table.level.system_id, key),
    )
    return Choropleth(table, classification)


def feature_properties(choropleth: Choropleth) -> list[dict]:
    """Per region: the properties a map feature carries."""
    meta, rows = choropleth.meta, choropleth.table.rows
    klass = choropleth.classification
    labels = [c.label for c in klass.classes]
    decimals = meta.decimals + 2 if meta.kind != "class" else 0
    out = []
    for row, number, colour in zip(
        rows.itertuples(index=False), klass.region_class, klass.region_colour, strict=True
    ):
        valid = row.status == "valid"
        parent = None if pd.isna(row.parent_value) else float(row.parent_value)
        out.append(
            {
                "code": row.code,
                "name": row.name,
                "value": round(float(row.value), decimals) if valid else None,
                "status": row.status,
                "partial": bool(row.partial),
                "class": int(number) if number >= 0 else None,
                "colour": colour,
                "value_label": value_label(meta, row.value, row.status),
                "class_label": labels[number] if number >= 0 else CLASS_STATUS_LABELS[row.status],
                "parent_value": parent,
                "parent_label": value_label(meta, parent),
            }
        )
    return out


def describe(choropleth: Choropleth) -> dict:
    """What the map, its title and its legend need besides the features."""
    table, meta = choropleth.table, choropleth.meta
    return {
        "indicator": {
            "key": meta.key,
            "name": meta.name_de,
            "unit": meta.unit,
            "kind": meta.kind,
            "decimals": meta.decimals,
            "polarity": meta.polarity,
        },
        "system": table.level.system,
        "level": {"key": table.level.key, "name": table.level.name},
        "period": table.period.isoformat(),
        "legend": choropleth.classification.legend(),
        "reference": {
            "city_value": table.city_value,
            "city_label": value_label(meta, table.city_value),
        },
        "notes": [*table.notes, *choropleth.classification.notes],
    }


_FEATURES_SQL = text(
    """
    SELECT '{"type":"FeatureCollection","features":[' || coalesce(string_agg(
        '{"type":"Feature","id":' || to_json(r.code)::text
        || ',"geometry":' || ST_AsGeoJSON(r.geom_display, :digits)
        || ',"properties":' || p.props || '}', ',' ORDER BY r.code), '') || ']'
    FROM unnest(CAST(:codes AS text[]), CAST(:props AS text[])) AS p(code, props)
    JOIN regions r ON r.level_id = :level AND r.code = p.code
    """
)


def choropleth_geojson(conn: Connection, choropleth: Choropleth, digits: int = 5) -> str:
    """The choropleth as GeoJSON text (EPSG:4326): features built by PostGIS, the description
    as foreign members."""
    records = feature_properties(choropleth)
    features = conn.execute(
        _FEATURES_SQL,
        {
            "digits": digits,
            "codes": [r["code"] for r in records],
            "props": [json.dumps(r, ensure_ascii=False) for r in records],
            "level": choropleth.table.level.id,
        },
    ).scalar_one()
    members = json.dumps(describe(choropleth), ensure_ascii=False)
    return features + "," + members[1:]
