"""One vector tile answered in one pass: the request's connection, its collection and
indicators, the tile through the tile cache, the answer with its ETag (304 when the client has
it), all in one worker thread. A tile is the most frequent request a map makes and costs a few
milliseconds to build; the dependency graph and a thread hop per dependency cost as much again,
so the tile routes call this instead of taking dependencies.

A built tile is kept compressed beside its plain bytes: a client that takes gzip (every browser,
GDAL, QGIS) is sent the compressed bytes as they are, which the response middleware otherwise
compressed again on every request."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import date

from fastapi import Request
from fastapi.responses import Response

from layers.cache import LayerCache
from spatial.tiles import TileBudget, mvt_tile
from web.collections import Collection, CollectionSources, sources_of
from web.deps import request_connection
from web.tilesets import MVT, check_tile

# below this a tile goes as it is: the gzip header and the inflating cost more than they save
GZIP_ABOVE = 512
# the fastest level: the services bench's region tiles z10-z14 pack to 78 % at level 1 and to
# 76 % at level 6, which took half as long again, a tenth of what building a tile took
GZIP_LEVEL = 1


@dataclass(frozen=True)
class TileAsk:
    """One tile of a layer as a request names it (indicators resolved)."""

    chosen: Collection
    indicators: list[str]
    period: date | None
    z: int
    x: int
    y: int


@dataclass(frozen=True)
class BuiltTile:
    """A tile's bytes, the same compressed (None when too small to gain), and its ETag."""

    data: bytes
    gzipped: bytes | None
    etag: str

    @classmethod
    def of(cls, data: bytes) -> BuiltTile:
        packed = gzip.compress(data, GZIP_LEVEL, mtime=0) if len(data) > GZIP_ABOVE else None
        return cls(data, packed, '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"')


def serve_tile(
    request: Request,
    layer: str,
    indicators: str | None,
    period: date | None,
    z: int,
    x: int,
    y: int,
) -> Response:
    """The tile ``z/x/y`` of collection ``layer`` (``indicators`` as the request names them).
    Runs in a worker thread, on an autocommit connection for an anonymous visitor: it keeps
    the connection's prepared statements (the driver drops them on ROLLBACK, and planning the
    tile query again on every request cost a third of building it); a visitor's request ends
    its transaction with COMMIT for the same reason."""
    check_tile(z, x, y)
    with request_connection(request, autocommit=True) as conn:
        sources = sources_of(request, conn)
        chosen = sources.collection(layer)
        ask = TileAsk(chosen, sources.indicators(indicators, chosen), period, z, x, y)
        built = _built_tile(request, sources, ask)
        conn.commit()
    headers = {
        "Cache-Control": f"public, max-age={sources.settings.tile_max_age}",
        "Vary": "Accept-Encoding",
    }
    if built.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body, etag = built.gzipped, built.etag[:-1] + '-gz"'
        headers["Content-Encoding"] = "gzip"
    else:
        body, etag = built.data, built.etag
    headers["ETag"] = etag
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MVT, headers=headers)


def _built_tile(request: Request, sources: CollectionSources, ask: TileAsk) -> BuiltTile:
    """The tile through the tile cache: regions and facilities follow the data version; the
    projects change with every edit and are built each time."""
    settings = sources.settings
    budget = TileBudget(settings.tile_max_points, settings.tile_max_bytes)

    def build() -> BuiltTile:
        source = sources.source(ask.chosen, ask.indicators, ask.period)
        data = mvt_tile(sources.conn, source, ask.chosen.id, ask.z, ask.x, ask.y, budget=budget)
        return BuiltTile.of(data)

    if not ask.chosen.follows_ingest:
        return build()
    tiles: LayerCache = request.app.state.tiles
    key = (ask.chosen.id, tuple(ask.indicators), ask.period, ask.z, ask.x, ask.y)
    return tiles.get_or_compute(sources.conn, key, build)
