"""How a tile is answered: the compressed and the plain form each with its own ETag (and 304
for its own), the same tile in both, and the OGC tile route alike (on Berlin: the town's tiles
are too small to compress); on the generated town, a tile too small to gain is sent as it is,
the connection a tile was built on keeps its prepared statements, and the Web Mercator
geometry tiles are cut from is the stored geometry."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from people import TOWN
from sqlalchemy import text

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


def test_the_tile_geometry_is_the_stored_geometry_in_web_mercator(town_client):
    with town_client.app.state.read_engine.connect() as conn:
        regions, different = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE NOT ST_Equals(geom_tile, "
                "ST_Transform(geom, 3857)) OR ST_SRID(geom_tile) <> 3857) FROM regions"
            )
        ).one()
    assert regions > 0 and different == 0
