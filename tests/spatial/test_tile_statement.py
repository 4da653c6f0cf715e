"""What the tile statement asks PostgreSQL to do, read from its plan on the generated town:
each feature's tile geometry (clip, simplification, ST_AsMVTGeom) is computed once, whether
the tile is cut from the Web Mercator shapes or from the stored geometry, and the tile the
plan describes is the one served; a tile's outlines stay within a tile unit (and the
rounding to the grid) of Berlin's surveyed boundaries."""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
import shapely.geometry
import shapely.wkt
from people import TOWN
from sqlalchemy import text

from layers.cache import LayerCache
from layers.sources import region_source
from spatial.tile_shapes import fill_tile_shapes
from spatial.tiles import (
    TILE_BUFFER,
    TILE_EXTENT,
    TILE_GEOM_MAX_ZOOM,
    mvt_tile,
    tile_statement,
)

LAYER = f"{TOWN}-bzr"
TILES = {"shapes": (11, 1100, 671), "stored geometry": (TILE_GEOM_MAX_ZOOM + 1, 70476, 42957)}
BERLIN, BERLIN_LAYER = "berlin-lor-2021", "berlin-lor-2021-bzr"
# around Marzahn Nord: surveyed boundaries with many vertices
BERLIN_TILES = {
    "shapes": (12, 2202, 1342),
    "stored geometry": (TILE_GEOM_MAX_ZOOM + 1, 70477, 42961),
}


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


@pytest.mark.mirror
@pytest.mark.parametrize("cut_from", BERLIN_TILES)
def test_tile_outlines_stay_within_a_tile_unit_of_the_boundaries(berlin_engine, cut_from):
    z, x, y = BERLIN_TILES[cut_from]
    with berlin_engine.connect() as conn:
        source = region_source(conn, LayerCache(), BERLIN, "bzr", [])
        tile = mvt_tile(conn, source, BERLIN_LAYER, z, x, y)
        exact = dict(
            conn.execute(
                text(
                    "SELECT r.code, ST_AsText(ST_AsMVTGeom(ST_Transform(r.geom, 3857), "
                    "ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true)) "
                    "FROM regions r JOIN region_levels l ON l.id = r.level_id "
                    "JOIN region_systems s ON s.id = l.system_id "
                    "WHERE s.key = :system AND l.key = 'bzr'"
                ),
                {"z": z, "x": x, "y": y, "extent": TILE_EXTENT, "buffer": TILE_BUFFER,
                 "system": BERLIN},
            ).all()
        )  # fmt: skip
    features = mapbox_vector_tile.decode(tile, default_options={"y_coord_down": True})
    drawn = features[BERLIN_LAYER]["features"]
    assert len(drawn) >= 2
    for feature in drawn:
        outline = shapely.geometry.shape(feature["geometry"])
        reference = shapely.wkt.loads(exact[feature["properties"]["code"]])
        # simplified by one unit, then both rounded to the grid (up to half a unit each way)
        assert outline.hausdorff_distance(reference) <= 1 + 2 * 0.5**0.5 + 0.05, feature[
            "properties"
        ]["code"]
