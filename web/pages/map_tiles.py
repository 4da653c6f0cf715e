"""The planning map of a large level drawn from vector tiles: the tiers of levels by zoom
(``layers.zoom_tiers``), the tile URLs carrying the indicator, and the classes the browser
colours by — the values and classes stay the server's; the browser only paints."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import BARE_UNITS, Choropleth, cached_table
from layers.classify import NO_DATA_COLOUR
from layers.errors import LayerError
from layers.sources import level_bounds
from layers.zoom_tiers import LevelSize, zoom_tiers


def choropleth_tiles(
    conn: Connection,
    cache: LayerCache,
    choropleth: Choropleth,
    levels: list[dict],
    regions: int,
    budget: int,
) -> dict:
    """What map.js needs to draw a large level from vector tiles: per zoom tier the tile URL
    of the level drawn there (coarser ones while the chosen one is not legible) with the
    value, and the classes (upper bounds, colours) the server decided, to colour by."""
    table, meta = choropleth.table, choropleth.meta
    system, chosen = table.level.system, table.level.key
    sizes = [LevelSize(lvl["key"], lvl["name"], lvl["regions"]) for lvl in levels]
    sizes = sizes[: [s.key for s in sizes].index(chosen) + 1]
    query = urlencode({"indicators": meta.key, "period": table.period.isoformat()})
    tiers = []
    for tier in zoom_tiers(sizes, level_bounds(conn, table.level.id), budget):
        level, name = tier.level, tier.name
        if level != chosen and not _computable(conn, cache, system, level, meta.key, table.period):
            level, name = chosen, table.level.name
        tiers.append(
            {
                "url": f"/tiles/{system}-{level}/{{z}}/{{x}}/{{y}}.mvt?{query}",
                "layer": f"{system}-{level}",
                "key": level,
                "level": name,
                "min_zoom": tier.min_zoom,
                "max_zoom": tier.max_zoom,
            }
        )
    return {
        "tiers": tiers,
        "property": meta.key,
        "regions": regions,
        "unit": "" if meta.unit in BARE_UNITS else meta.unit,
        "decimals": meta.decimals,
        "labelled": meta.kind == "class",
        "breaks": choropleth.classification.breaks,
        "exclusive": choropleth.classification.exclusive,
        "classes": [
            {"colour": c.colour, "label": c.label} for c in choropleth.classification.classes
        ],
        "no_data": NO_DATA_COLOUR,
    }


def _computable(conn, cache, system: str, level: str, key: str, period: date) -> bool:
    try:
        cached_table(conn, cache, system, level, key, period)
    except LayerError:
        return False
    return True
