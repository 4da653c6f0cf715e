"""How a tile is answered: the compressed and the plain form each with its own ETag (and 304
for its own), the same tile in both, and the OGC tile route alike (on Berlin: the town's tiles
are too small to compress); on the generated town, a tile too small to gain is sent as it is,
the connection a tile was built on keeps its prepared statements, and the Web Mercator
shapes tiles are cut from are the stored geometry (a region without one is cut from that),
and the store refresher of a running app fills missing shapes once, not after every event save."""

from __future__ import annotations

import time

import mapbox_vector_tile
import pytest
from people import TOWN
from sqlalchemy import text

from spatial.tile_shapes import SHAPE_TOLERANCE_M, fill_tile_shapes
from web.refresher import StoreRefresher

TILE = f"/tiles/{TOWN}-bzr/11/1100/671.mvt"
BERLIN_BZR = "berlin-lor-2021-bzr"
BERLIN_TILE = f"/tiles/{BERLIN_BZR}/12/2202/1342.mvt"  # around Marzahn Nord
BERLIN_OGC_TILE = f"/ogc/collections/{BERLIN_BZR}/tiles/WebMercatorQuad/12/1342/2202"
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def _features(content: bytes, layer: str) -> list[dict]:
    return mapbox_vector_tile.decode(content)[layer]["features"]


@pytest.mark.mirror
def test_a_tile_is_sent_compressed_or_plain_each_with_its_own_etag(client):
    for url in (BERLIN_TILE, BERLIN_OGC_TILE):
        packed = client.get(url, headers=GZIP)
        plain = client.get(url, headers=PLAIN)
        assert packed.status_code == plain.status_code == 200, packed.text
        assert packed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert packed.content == plain.content  # the client inflated the same tile
        assert len(_features(plain.content, BERLIN_BZR)) >= 5
        assert "accept-encoding" in packed.headers["vary"].lower()
        assert packed.headers["etag"] != plain.headers["etag"]
        again = client.get(url, headers={**GZIP, "If-None-Match": packed.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        # the plain form is not the one the client has: it is sent
        other = client.get(url, headers={**PLAIN, "If-None-Match": packed.headers["etag"]})
        assert other.status_code == 200 and other.content == plain.content


def test_a_small_tile_is_sent_as_it_is(town_client):
    # the town's few simple shapes: a tile of a hundred bytes gains nothing from gzip
    response = town_client.get(TILE, headers=GZIP)
    assert response.status_code == 200
    assert 0 < len(response.content) <= 512
    assert len(_features(response.content, f"{TOWN}-bzr")) > 0
    assert "content-encoding" not in response.headers


def test_tile_connections_keep_their_prepared_statements(town_client):
    app = town_client.app
    for _ in range(8):  # the driver prepares a statement on its fifth run
        app.state.tiles.clear()
        assert town_client.get(TILE).status_code == 200
    # requests one after another share the pool's one connection; it is the one lent next
    with app.state.read_engine.connect() as conn:
        prepared = conn.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%ST_AsMVT%'")
        ).scalar_one()
    assert prepared >= 1


def test_tile_shapes_are_the_stored_geometry_in_web_mercator(town_engine):
    with town_engine.begin() as conn:
        fill_tile_shapes(conn)
        regions, shaped, srids, furthest = conn.execute(
            text(
                "SELECT count(*), count(s.region_id), array_agg(DISTINCT ST_SRID(s.geom)), "
                "max(ST_HausdorffDistance(r.geom, ST_Transform(s.geom, ST_SRID(r.geom)))) "
                "FROM regions r LEFT JOIN region_tile_shapes s ON s.region_id = r.id"
            )
        ).one()
        assert fill_tile_shapes(conn) == 0  # each region once
    # simplified by half a tile unit at zoom 16, nowhere further from the boundary
    assert 0.04 < SHAPE_TOLERANCE_M < 0.05
    assert regions > 0 and shaped == regions and srids == [3857]
    assert furthest <= SHAPE_TOLERANCE_M + 1e-6


def test_a_region_without_its_shape_is_cut_from_its_geometry(town_client, town_engine):
    def codes() -> list[str]:
        town_client.app.state.tiles.clear()
        content = town_client.get(TILE, headers=PLAIN).content
        return sorted(f["properties"]["code"] for f in _features(content, f"{TOWN}-bzr"))

    with town_engine.begin() as conn:
        fill_tile_shapes(conn)
    shaped = codes()
    with town_engine.begin() as conn:
        conn.execute(text("DELETE FROM region_tile_shapes"))
    try:
        assert codes() == shaped and shaped
    finally:
        with town_engine.begin() as conn:
            fill_tile_shapes(conn)


def test_a_changed_geometry_drops_the_shape_until_the_next_refresh(town_engine):
    with town_engine.connect() as conn:
        fill_tile_shapes(conn)
        region = conn.execute(text("SELECT min(region_id) FROM region_tile_shapes")).scalar_one()
        conn.execute(text("UPDATE regions SET name = name || ' ' WHERE id = :r"), {"r": region})
        kept = conn.execute(
            text("SELECT count(*) FROM region_tile_shapes WHERE region_id = :r"), {"r": region}
        ).scalar_one()
        conn.execute(
            text("UPDATE regions SET geom = ST_Multi(ST_Buffer(geom, 1)) WHERE id = :r"),
            {"r": region},
        )
        dropped = conn.execute(
            text("SELECT count(*) FROM region_tile_shapes WHERE region_id = :r"), {"r": region}
        ).scalar_one()
        conn.rollback()  # the town stays as it was
    assert kept == 1 and dropped == 0


def test_tiles_finer_than_the_tile_geometry_are_cut_from_the_stored_one(town_client):
    z17 = town_client.get(f"/tiles/{TOWN}-bzr/17/70476/42957.mvt", headers=PLAIN)
    z16 = town_client.get(f"/tiles/{TOWN}-bzr/16/35238/21478.mvt", headers=PLAIN)
    assert z17.status_code == z16.status_code == 200
    assert len(_features(z17.content, f"{TOWN}-bzr")) == 1
    assert len(_features(z16.content, f"{TOWN}-bzr")) >= 1


def _run_refresher_until(refresher, runs: int) -> None:
    deadline = time.monotonic() + 60
    while refresher.runs < runs:
        assert time.monotonic() < deadline, "the store refresher did not finish"
        time.sleep(0.05)


def test_the_refresher_checks_the_tile_shapes_once_not_on_every_wake_up(town_engine):
    with town_engine.begin() as conn:
        fill_tile_shapes(conn)
        region = conn.execute(text("SELECT min(region_id) FROM region_tile_shapes")).scalar_one()
        conn.execute(text("DELETE FROM region_tile_shapes WHERE region_id = :r"), {"r": region})

    def shaped() -> bool:
        with town_engine.connect() as conn:
            return (
                conn.execute(
                    text("SELECT count(*) FROM region_tile_shapes WHERE region_id = :r"),
                    {"r": region},
                ).scalar_one()
                == 1
            )

    refresher = StoreRefresher(town_engine)
    refresher.start()
    try:
        _run_refresher_until(refresher, 1)
        assert shaped()  # the first run, after the app started, fills what is missing
        with town_engine.begin() as conn:
            conn.execute(text("DELETE FROM region_tile_shapes WHERE region_id = :r"), {"r": region})
        refresher.request()  # as an event save does
        _run_refresher_until(refresher, 2)
        assert not shaped()
    finally:
        refresher.close()
        with town_engine.begin() as conn:
            fill_tile_shapes(conn)
