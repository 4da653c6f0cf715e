"""Which level of a region system a map draws at each zoom, so that a tile never has to carry
more regions than can be told apart: a level of 54,200 regions seen whole is a few pixels per
region, and its tiles would be megabytes. Below the zoom where the chosen level becomes
legible, the finest coarser level that is legible there is drawn with the same indicator
(aggregated by its catalog rule, as the store keeps it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

TILE_REGION_BUDGET = 4_000  # regions a tile may carry at the zoom a level is drawn
MAX_ZOOM = 19


@dataclass(frozen=True)
class LevelSize:
    key: str
    name: str
    regions: int


@dataclass(frozen=True)
class ZoomTier:
    level: str
    name: str
    min_zoom: int
    max_zoom: int  # inclusive


def regions_per_tile(regions: int, bounds: tuple[float, ...], zoom: int) -> float:
    """About how many of ``regions`` spread evenly over ``bounds`` (WGS 84) one web-mercator
    tile of ``zoom`` covers."""
    west, south, east, north = bounds
    side = 360 / 2**zoom  # degrees of longitude; of latitude times cos(latitude)
    tile = side * side * math.cos(math.radians((south + north) / 2))
    area = max((east - west) * (north - south), 1e-12)
    return regions * min(1.0, tile / area)


def zoom_tiers(
    levels: list[LevelSize],
    bounds: tuple[float, ...],
    budget: int = TILE_REGION_BUDGET,
    max_zoom: int = MAX_ZOOM,
) -> list[ZoomTier]:
    """The levels (coarsest first, the chosen one last) a map draws from zoom 0 to
    ``max_zoom``: at each zoom the finest whose tiles stay within ``budget`` regions, the
    coarsest where none does; the chosen level from where it becomes legible on."""
    if not levels:
        return []
    tiers: list[ZoomTier] = []
    for zoom in range(max_zoom + 1):
        legible = [lvl for lvl in levels if regions_per_tile(lvl.regions, bounds, zoom) <= budget]
        shown = legible[-1] if legible else levels[0]
        if tiers and tiers[-1].level == shown.key:
            tiers[-1] = ZoomTier(shown.key, shown.name, tiers[-1].min_zoom, zoom)
        else:
            tiers.append(ZoomTier(shown.key, shown.name, zoom, zoom))
    return tiers
