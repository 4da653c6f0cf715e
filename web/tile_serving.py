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
from layers.errors import InvalidParameter
from spatial.tiles import TileBudget, mvt_tile
from web.collections import Collection, CollectionSources, sources_of
from web.deps import request_connection
from web.tilesets import MAX_ZOOM, MVT, check_tile

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


@dataclass(frozen=True)
class TileQuery:
    """A tile's zoom, column and row and its query, read from the request as they are: the
    route takes no parameters, since validating six of them cost a tenth of what answering a
    tile does (the route documents them with ``tile_parameters``)."""

    z: int
    x: int
    y: int
    indicators: str | None
    period: date | None

    @classmethod
    def of(cls, request: Request, names: tuple[str, str, str] = ("z", "x", "y")) -> TileQuery:
        """The tile the request names by its path parameters ``names`` (zoom, column, row)."""
        z, x, y = (request.path_params[name] for name in names)
        period = request.query_params.get("period")
        return cls(
            _whole(z, names[0], MAX_ZOOM),
            _whole(x, names[1]),
            _whole(y, names[2]),
            request.query_params.get("indicators"),
            _day(period) if period is not None else None,
        )


def _whole(raw: str, name: str, top: int | None = None) -> int:
    if raw.isascii() and raw.isdigit() and (top is None or int(raw) <= top):
        return int(raw)
    bound = f"from 0 to {top}" if top is not None else "from 0"
    raise InvalidParameter(f"{name}: must be a whole number {bound}, not {raw!r}")


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(f"period: must be a date (YYYY-MM-DD), not {raw!r}") from None


def tile_parameters(names: tuple[str, str, str] = ("z", "x", "y")) -> list[dict]:
    """The OpenAPI description of a tile route's parameters (``names`` as in ``TileQuery``)."""
    z, x, y = names
    whole = {"type": "integer", "minimum": 0}
    return [
        {"name": z, "in": "path", "required": True, "schema": {**whole, "maximum": MAX_ZOOM}},
        {"name": x, "in": "path", "required": True, "schema": whole},
        {"name": y, "in": "path", "required": True, "schema": whole},
        {
            "name": "indicators",
            "in": "query",
            "description": "Indicator keys of region layers, separated by commas",
            "schema": {"type": "string"},
        },
        {
            "name": "period",
            "in": "query",
            "description": "Reference date; default the latest",
            "schema": {"type": "string", "format": "date"},
        },
    ]


def serve_tile(request: Request, layer: str, asked: TileQuery) -> Response:
    """The tile ``asked`` of collection ``layer``. Runs in a worker thread, on an autocommit
    connection for an anonymous visitor: it keeps the connection's prepared statements (the
    driver drops them on ROLLBACK, and planning the tile query again on every request cost a
    third of building it); a visitor's request ends its transaction with COMMIT for the same
    reason."""
    z, x, y = asked.z, asked.x, asked.y
    check_tile(z, x, y)
    with request_connection(request, autocommit=True) as conn:
        sources = sources_of(request, conn)
        chosen = sources.collection(layer)
        keys = sources.indicators(asked.indicators, chosen)
        ask = TileAsk(chosen, keys, asked.period, z, x, y)
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
