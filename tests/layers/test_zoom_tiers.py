"""The level a map draws at each zoom: a city's Planungsräume from zoom 0, a store of 100×
Berlin's through its coarser levels until the Planungsräume are legible."""

from __future__ import annotations

import itertools

from layers.zoom_tiers import LevelSize, regions_per_tile, zoom_tiers

BERLIN = (13.09, 52.34, 13.76, 52.68)
HUNDRED = (12.71, 52.33, 16.91, 59.44)  # 5 × 20 copies of Berlin
LOR = [("bezirk", "Bezirk", 12), ("pgr", "Prognoseraum", 58), ("bzr", "Bezirksregion", 143)]


def _levels(factor: int) -> list[LevelSize]:
    return [LevelSize(k, n, c * factor) for k, n, c in [*LOR, ("plr", "Planungsraum", 542)]]


def test_a_city_draws_its_finest_level_at_every_zoom():
    tiers = zoom_tiers(_levels(1), BERLIN)
    assert [(t.level, t.min_zoom, t.max_zoom) for t in tiers] == [("plr", 0, 19)]


def test_a_large_store_draws_coarser_levels_until_the_finest_is_legible():
    tiers = zoom_tiers(_levels(100), HUNDRED)
    assert [t.level for t in tiers] == ["bezirk", "pgr", "bzr", "plr"]
    assert tiers[0].min_zoom == 0 and tiers[-1].max_zoom == 19
    for tier in tiers:  # contiguous, and no tile over the budget from the tier's first zoom on
        count = next(lvl.regions for lvl in _levels(100) if lvl.key == tier.level)
        assert regions_per_tile(count, HUNDRED, tier.min_zoom) <= 4_000
    assert all(a.max_zoom + 1 == b.min_zoom for a, b in itertools.pairwise(tiers))
    assert tiers[-1].min_zoom <= 9  # Planungsräume of 100× Berlin from zoom 9 at the latest


def test_where_no_level_is_legible_the_coarsest_is_drawn():
    tiers = zoom_tiers([LevelSize("a", "A", 10**7), LevelSize("b", "B", 10**8)], HUNDRED)
    assert tiers[0].level == "a" and tiers[0].min_zoom == 0
