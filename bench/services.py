"""Exports, OGC API Features and vector tiles, measured in one run side by side with tipg (from
PyPI, in its own virtual environment) serving the same 542 Planungsräume with the same 10
indicator values from the same database: each server in its own process, one worker, requests
one after another; medians and ratios (ours / tipg) printed."""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.servers import free_port, ours, running
from bench.web import median_ms
from layers.cache import LayerCache
from layers.sources import region_source
from spatial.features import FeatureQuery
from spatial.settings import PROJECT_ROOT, DataSettings
from spatial.store import make_engine
from web.exports import ExportOptions, export_layer

TIPG_PYTHON = PROJECT_ROOT / ".venv-tipg" / "bin" / "python"
BERLIN = (13.08, 52.33, 13.77, 52.68)
COLLECTION = "berlin-lor-2021-plr"
TIPG_COLLECTION = "bench.plr"


def _service_indicators() -> list[str]:
    """The indicators Berlin's collections and tiles carry (its city pack's)."""
    return list(DataSettings().packs(["berlin"])[0].map.service_indicators)


def berlin_tiles(per_zoom_cap: int = 60) -> list[tuple[int, int, int]]:
    """A fixed list of about 200 tiles z10–z14 over Berlin: every tile up to z12, an even
    sample of the others."""
    chosen = []
    for z in range(10, 15):
        west, south, east, north = BERLIN
        x0, y0 = _tile_of(west, north, z)
        x1, y1 = _tile_of(east, south, z)
        tiles = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        step = max(1, math.ceil(len(tiles) / per_zoom_cap))
        chosen += tiles[::step]
    return chosen


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    rad = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)


def _bench_table(url: str) -> None:
    """The same PLR with the same values as a plain table for tipg."""
    engine = make_engine(url)
    with engine.begin() as conn:
        source = region_source(conn, LayerCache(), "berlin-lor-2021", "plr", _service_indicators())
        conn.execute(text("DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench"))
        columns = ", ".join(f'src."{f.name}"' for f in source.fields)
        conn.execute(
            text(
                f"CREATE TABLE bench.plr AS SELECT src.fid AS id, {columns}, src.geom "
                f"FROM ({source.relation}) AS src"
            ),
            source.params,
        )
        conn.execute(text("ALTER TABLE bench.plr ADD PRIMARY KEY (id)"))
        conn.execute(text("CREATE INDEX ON bench.plr USING gist (geom)"))
        conn.execute(text("ANALYZE bench.plr"))
    engine.dispose()


def _export_ms(url: str, repeats: int) -> float:
    engine = make_engine(url)
    cache = LayerCache()
    directory = Path(tempfile.mkdtemp(prefix="sz-bench-export-"))
    with engine.connect() as conn:

        def run() -> None:
            source = region_source(conn, cache, "berlin-lor-2021", "plr", _service_indicators())
            export_layer(conn, source, FeatureQuery(), ExportOptions("geojson"), directory)

        run()  # the indicator tables once; then what an export costs with them cached
        took = median_ms(run, repeats)
    engine.dispose()
    return took


def _pages_ms(client: httpx.Client, items: str, total: int, repeats: int) -> float:
    """Median time of one page of 100 features, over every page of the collection."""
    times = []
    for _ in range(repeats):
        for offset in range(0, total, 100):
            started = time.perf_counter()
            response = client.get(items, params={"limit": 100, "offset": offset})
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
    return statistics.median(times) * 1000


def _tiles_per_s(client: httpx.Client, template: str, tiles: list) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    for z, x, y in tiles:
        response = client.get(template.format(z=z, x=x, y=y))
        assert response.status_code in (200, 204), response.text[:300]
        size += len(response.content)
    return len(tiles) / (time.perf_counter() - started), size


def _first_passes(
    client: httpx.Client, template: str, tiles: list, passes: int = 3
) -> tuple[float, int]:
    """Median rate of ``passes`` first passes over the tiles (and the bytes of the first): each
    names the service indicators in another order, a layer the tile cache holds nothing of, so
    every tile is built again (the first one also builds its source)."""
    keys = _service_indicators()
    rates, size = [], 0
    for turn in range(passes):
        order = ",".join(keys[turn:] + keys[:turn])
        rate, seen = _tiles_per_s(client, template + f"?indicators={order}", tiles)
        rates.append(rate)
        size = size or seen
    return statistics.median(rates), size


# a CQL2 filter and an order both servers take, over the same table
CQL2_FILTER = "inhabitants > 5000 AND inhabitants < 20000"
SORTBY = "-inhabitants"


def _filtered_ms(client: httpx.Client, items: str, repeats: int) -> tuple[float, int]:
    """Median time of a page of 100 with the CQL2 filter and sortby; the features matched."""
    params = {"filter": CQL2_FILTER, "filter-lang": "cql2-text", "sortby": SORTBY, "limit": 100}
    first = client.get(items, params=params)
    assert first.status_code == 200, first.text[:300]
    values = [f["properties"]["inhabitants"] for f in first.json()["features"]]
    assert values == sorted(values, reverse=True) and all(5000 < v < 20000 for v in values)
    return median_ms(lambda: client.get(items, params=params), repeats), len(values)


def tile_sizes(client: httpx.Client, template: str) -> dict[int, int]:
    """Bytes of the tile over Berlin's centre at each zoom 0 … 14."""
    sizes = {}
    for z in range(15):
        x, y = _tile_of(13.40, 52.52, z)
        response = client.get(template.format(z=z, x=x, y=y))
        assert response.status_code == 200, response.text[:300]
        sizes[z] = len(response.content)
    return sizes


def bench_services(url: str, repeats: int = 5) -> dict[str, float]:
    if not TIPG_PYTHON.exists():
        raise SystemExit("tipg is missing: run `make bench` (it creates .venv-tipg)")
    _bench_table(url)
    results: dict[str, float] = {"geojson export ms": _export_ms(url, repeats)}
    tipg_port = free_port()
    tipg_command = [
        str(TIPG_PYTHON), "-m", "uvicorn", "tipg.main:app", "--port", str(tipg_port),
        "--log-level", "warning",
    ]  # fmt: skip
    tipg_env = {
        "DATABASE_URL": url.replace("postgresql+psycopg", "postgresql"),
        "TIPG_DB_SCHEMAS": '["bench"]',
        "TIPG_DB_SPATIAL_EXTENT": "false",
    }
    tipg_log = Path(os.environ.get("TMPDIR", "/tmp")) / "sozialraum-bench-tipg.log"
    with (
        ours(url, "bench-services") as (ours_base, _),
        running(tipg_command, tipg_env, f"http://127.0.0.1:{tipg_port}/collections", tipg_log),
    ):
        _compare(results, ours_base, f"http://127.0.0.1:{tipg_port}", repeats)
    _print(results)
    return results


def _compare(results: dict[str, float], ours_base: str, tipg_base: str, repeats: int) -> None:
    tiles = berlin_tiles()
    with httpx.Client(timeout=120) as client:
        ours_items = f"{ours_base}/ogc/collections/{COLLECTION}/items"
        tipg_items = f"{tipg_base}/collections/{TIPG_COLLECTION}/items"
        ours_all = client.get(ours_items, params={"limit": 542})  # computes the tables
        tipg_all = client.get(tipg_items, params={"limit": 542})
        assert len(ours_all.json()["features"]) == len(tipg_all.json()["features"]) == 542
        results["geojson 542 over http ms"] = median_ms(
            lambda: client.get(ours_items, params={"limit": 542}), repeats
        )
        results["tipg geojson 542 ms"] = median_ms(
            lambda: client.get(tipg_items, params={"limit": 542}), repeats
        )
        results["ogc page of 100 ms"] = _pages_ms(client, ours_items, 542, repeats)
        results["tipg page of 100 ms"] = _pages_ms(client, tipg_items, 542, repeats)
        results["cql2 + sortby page ms"], ours_n = _filtered_ms(client, ours_items, repeats)
        results["tipg cql2 + sortby page ms"], tipg_n = _filtered_ms(client, tipg_items, repeats)
        assert ours_n == tipg_n, (ours_n, tipg_n)
        ours_tile = f"{ours_base}/tiles/{COLLECTION}/{{z}}/{{x}}/{{y}}.mvt"
        tipg_tile = (
            f"{tipg_base}/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"
        )
        results["tiles"] = len(tiles)
        results["tiles/s (first pass)"], results["tile bytes"] = _first_passes(
            client, ours_tile, tiles
        )
        results["tiles/s (cached)"], _ = _tiles_per_s(client, ours_tile, tiles)
        tipg_rates = [_tiles_per_s(client, tipg_tile, tiles) for _ in range(2)]
        results["tipg tiles/s"] = statistics.median(r[0] for r in tipg_rates)
        results["tipg tile bytes"] = tipg_rates[0][1]
        for layer in (COLLECTION, "facilities-kita"):
            template = f"{ours_base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
            for z, size in tile_sizes(client, template).items():
                results[f"{layer} z{z} bytes"] = size


def _print(results: dict[str, float]) -> None:
    table = Table(title="Exports, OGC API Features, vector tiles (ours vs tipg, one run)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:,.1f}")
    ratios = {
        "geojson 542 over http: ours / tipg": results["geojson 542 over http ms"]
        / results["tipg geojson 542 ms"],
        "ogc page of 100: ours / tipg": results["ogc page of 100 ms"]
        / results["tipg page of 100 ms"],
        "cql2 + sortby page: ours / tipg": results["cql2 + sortby page ms"]
        / results["tipg cql2 + sortby page ms"],
        "tiles/s first pass: ours / tipg": results["tiles/s (first pass)"]
        / results["tipg tiles/s"],
        "tiles/s cached: ours / tipg": results["tiles/s (cached)"] / results["tipg tiles/s"],
    }
    for key, value in ratios.items():
        table.add_row(key, f"{value:.2f}")
    Console().print(table)
