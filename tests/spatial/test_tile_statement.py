"""What the tile statement asks PostgreSQL to do, read from its plan on the generated town:
each feature's tile geometry (clip, simplification, ST_AsMVTGeom) is computed once, whether
the tile is cut from the Web Mercator shapes or from the stored geometry, and the tile the
plan describes is the one served."""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
from people import TOWN
from sqlalchemy import text

from layers.cache import LayerCache
from layers.sources import region_source
from spatial.tile_shapes import fill_tile_shapes
from spatial.tiles import TILE_GEOM_MAX_ZOOM, mvt_tile, tile_statement

LAYER = f"{TOWN}-bzr"
TILES = {"shapes": (11, 1100, 671), "stored geometry": (TILE_GEOM_MAX_ZOOM + 1, 70476, 42957)}


def _plan_texts(node: dict) -> list[str]:
    """The expressions a plan node and those under it compute or filter by."""
    found = [*node.get("Output", []), node.get("Filter", "")]
    for child in node.get("Plans", []):
        found += _plan_texts(child)
    return found


@pytest.mark.parametrize("cut_from", TILES)
def test_each_feature_is_made_a_tile_geometry_once(town_engine, cut_from):
    z, x, y = TILES[cut_from]
    with town_engine.connect() as conn:
        fill_tile_shapes(conn)
        conn.commit()
        source = region_source(conn, LayerCache(), TOWN, "bzr", [])
        statement = tile_statement(source, LAYER, z, x, y)
        assert statement is not None
        plan = conn.execute(
            text(f"EXPLAIN (VERBOSE, FORMAT JSON) {statement.sql}"), statement.params
        ).scalar_one()
        plan = plan if isinstance(plan, list) else json.loads(plan)
        computed = " ".join(_plan_texts(plan[0]["Plan"])).lower()
        # inlined, the filter on the tile geometry and the aggregate each computed it
        assert computed.count("st_asmvtgeom(") == 1, computed
        tile = mvt_tile(conn, source, LAYER, z, x, y)
    assert mapbox_vector_tile.decode(tile)[LAYER]["features"]
