"""``make bench-scale``: synthetic stores of 1×, 10× (and, with ``BENCH_SCALES=1,10,100``,
100×) the Berlin Planungsräume, built through the public ingest functions by replicating the
loaded Berlin regions on a grid with codes of their own (``<copy><code>``) and their population
statistics; then the costs that should not grow with the store, medians of one run, with the
growth against 1×.

Each store: boundary ingest (4 levels), statistics ingest (3 periods), the indicator store's
refresh; a share at BZR from the store; a choropleth of every PLR (not cached, bytes);
an OGC page of 100; a region page and a profile PDF (caches cleared); Fisher-Jenks at PLR; one
z12 tile over Berlin-Mitte (the same area in every store); the bench's peak memory; and the
map in chromium, eight clients on it and the server's memory (``bench.scale_browser``).
"""

from __future__ import annotations

import math
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.full_load import _fresh_database, bench_full_load
from bench.scale_browser import browser_figures
from ingest.jobs import FileLevel, ingest_file
from ingest.manifest import load_manifest
from ingest.readers import FieldMap
from ingest.statistics import ingest_statistics_file
from layers.classify import classify
from layers.indicators import indicator_table
from layers.materialize import refresh_store
from layers.registry import register_analysis_indicators
from profiles.settings import ProfileSettings
from spatial.cluster import EmbeddedCluster
from spatial.settings import PROJECT_ROOT, DataSettings, StoreSettings
from spatial.store import make_engine, migrate
from web.app import create_app
from web.settings import Settings, WebSettings

SOURCE = "berlin-lor-2021"
SYSTEM = "scale"
LEVELS = ("bezirk", "pgr", "bzr", "plr")
INDICATORS = (
    "inhabitants",
    "inhabitants_foreigners",
    "inhabitants_age_below_6",
    "inhabitants_age_6_15",
)
SRID = 25833
MITTE_Z12 = (12, 2200, 1343)
# copies go north in rows of at most this many, so that 100 stay within the area of use of the
# storage CRS (a UTM zone is about 400 km wide), which the ingest checks
MAX_COLUMNS = 5
# requests of milliseconds: the median of three was the noise of a shared machine (a tile took
# 9 to 14 ms in one store from one run to the next, 7 ms in the median of 31)
FAST_REPEATS = 15


def _copies(url: str, n: int, workdir: Path, settings: DataSettings) -> dict[str, float]:
    """A store of ``n`` copies of the source regions and values; returns timings."""
    source = make_engine(url)
    target_url = _fresh_database(url)
    migrate(target_url, SRID)
    target = make_engine(target_url)
    times: dict[str, float] = {"url": target_url}  # type: ignore[dict-item]
    columns = min(math.ceil(math.sqrt(n)), MAX_COLUMNS)
    with source.connect() as conn:
        west, south, east, north = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Extent(r.geom) AS e FROM regions r JOIN region_systems s "
                "ON s.id = r.system_id WHERE s.key = :s) x"
            ),
            {"s": SOURCE},
        ).one()
    width, height = (east - west) * 1.05, (north - south) * 1.05
    # the copies nest by code prefix as the source does: the copy number before each code
    lengths = {
        lvl.key: lvl.code_length for lvl in load_manifest(settings.manifest_dir, SOURCE).levels
    }
    ingesting = 0.0
    for level in LEVELS:
        base = gpd.read_postgis(
            "SELECT r.code, r.name, r.geom FROM regions r JOIN region_levels l "
            "ON l.id = r.level_id JOIN region_systems s ON s.id = l.system_id "
            f"WHERE s.key = '{SOURCE}' AND l.key = '{level}'",
            source,
            geom_col="geom",
        )
        parts = []
        for k in range(n):
            part = base.copy()
            part["code"] = f"{k:03d}" + part["code"]
            part["name"] = part["name"] + (f" ({k})" if k else "")
            part["geometry"] = part.geometry.translate(
                (k % columns) * width, (k // columns) * height
            )
            parts.append(part.set_geometry("geometry").drop(columns="geom"))
        frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=base.crs)
        path = workdir / f"{level}-{n}.gpkg"
        frame.to_file(path, engine="pyogrio")
        fields = FieldMap("code", "name", code_length=3 + lengths[level])
        started = time.perf_counter()
        ingest_file(
            target,
            str(path),
            FileLevel(system=SYSTEM, level=level, fields=fields, city="Scale"),
            settings,
            srid=SRID,
        )
        ingesting += time.perf_counter() - started
    times["boundary ingest s"] = ingesting
    started = time.perf_counter()
    with source.connect() as conn:
        values = pd.read_sql(
            text(
                "SELECT r.code, i.key, v.period, v.value FROM statistic_values v "
                "JOIN regions r ON r.id = v.region_id JOIN region_levels l ON l.id = r.level_id "
                "JOIN region_systems s ON s.id = l.system_id "
                "JOIN indicators i ON i.id = v.indicator_id "
                "WHERE s.key = :s AND l.key = 'plr' AND i.key = ANY(:k) AND v.status = 'valid'"
            ),
            conn,
            params={"s": SOURCE, "k": list(INDICATORS)},
        )
    catalog = settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"})
    for period in sorted(values["period"].unique())[-3:]:
        wide = values[values["period"] == period].pivot(index="code", columns="key")["value"]
        rows = pd.concat(
            [wide.set_axis([f"{k:03d}{c}" for c in wide.index]) for k in range(n)]
        ).reset_index(names="code")
        path = workdir / f"values-{n}-{period}.csv"
        rows.to_csv(path, sep=";", index=False)
        ingest_statistics_file(
            target,
            str(path),
            catalog,
            system=SYSTEM,
            level="plr",
            code_column="code",
            columns={k: k for k in INDICATORS},
            period=period,
        )
    times["statistics ingest s"] = time.perf_counter() - started
    with target.begin() as conn:
        register_analysis_indicators(conn, catalog)
    started = time.perf_counter()
    with target.connect() as conn:
        refresh_store(conn, [_system_id(conn)], commit_each=True)
    times["store refresh s"] = time.perf_counter() - started
    source.dispose()
    target.dispose()
    return times


def _system_id(conn) -> int:
    return conn.execute(
        text("SELECT id FROM region_systems WHERE key = :s"), {"s": SYSTEM}
    ).scalar_one()


def _median(run, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _reads(url: str) -> dict[str, float]:
    results: dict[str, float] = {}
    engine = make_engine(url)
    with engine.connect() as conn:
        period = conn.execute(text("SELECT max(period) FROM indicator_tables")).scalar_one()
        results["share at BZR from the store s"] = _median(
            lambda: indicator_table(conn, SYSTEM, "bzr", "share_foreigners", period)
        )
        plr = indicator_table(conn, SYSTEM, "plr", "share_foreigners", period)
        meta = plr.indicator
        results["Fisher-Jenks at PLR s"] = _median(
            lambda: classify(plr.rows, meta, "fisher_jenks", 5)
        )
    engine.dispose()
    profiles = ProfileSettings(  # the synthetic system belongs to no city pack
        population="inhabitants",
        key_indicators=["inhabitants", "share_foreigners", "share_age_below_6"],
        age_bands=["inhabitants_age_below_6", "inhabitants_age_6_15"],
    )
    app = create_app(
        Settings(
            web=WebSettings(refresh_store=False),
            store=StoreSettings(database_url=url),
            profiles=profiles,
        )
    )
    with TestClient(app) as client:

        def uncached(path: str, repeats: int = 3) -> tuple[float, int]:
            times, size = [], 0
            for _ in range(repeats):
                app.state.cache.clear()
                app.state.tiles.clear()
                started = time.perf_counter()
                answer = client.get(path, headers={"Accept-Encoding": "gzip"})
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                size = int(answer.headers.get("content-length") or len(answer.content))
            return statistics.median(times), size

        keys = "indicators=inhabitants,share_foreigners"
        # the GeoJSON API of every region (the map draws large levels from tiles instead)
        results["choropleth GeoJSON API PLR s"], size = uncached(
            f"/api/choropleth/{SYSTEM}/plr/share_foreigners"
        )
        results["choropleth GeoJSON API PLR MB (gzip)"] = size / 1e6
        results["OGC page of 100 s"], _ = uncached(
            f"/ogc/collections/{SYSTEM}-plr/items?limit=100&{keys}", repeats=FAST_REPEATS
        )
        results["region page s"], _ = uncached(f"/region/{SYSTEM}/00001100101")
        results["profile PDF s"], _ = uncached(f"/profile/{SYSTEM}/000011001.pdf")
        z, x, y = MITTE_Z12
        tile, _ = uncached(f"/tiles/{SYSTEM}-plr/{z}/{x}/{y}.mvt?{keys}", repeats=FAST_REPEATS)
        results["z12 tile ms"] = tile * 1000
    results["peak memory of the bench MB"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    results.update(browser_figures(url, SYSTEM, "plr", "share_foreigners"))
    return results


def main() -> None:
    mirror = os.environ.get("SOZIALRAUM_DATA_MIRROR") or str(PROJECT_ROOT.parent / "shared/data")
    scales = [int(s) for s in os.environ.get("BENCH_SCALES", "1,10").split(",")]
    root = Path(tempfile.mkdtemp(prefix="sz-scale-"))
    os.chmod(root, 0o755)
    cluster = EmbeddedCluster(root)
    try:
        cluster.start()
        data = DataSettings(data_mirror=Path(mirror), cache_dir=root / "cache")
        _, loaded = bench_full_load(cluster.url(), data, repeats=1)
        columns: dict[int, dict[str, float]] = {}
        for n in scales:
            built = _copies(loaded, n, root, data)
            url = built.pop("url")
            columns[n] = {**built, **_reads(url)}  # type: ignore[arg-type]
        _print(columns)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _print(columns: dict[int, dict[str, float]]) -> None:
    scales = sorted(columns)
    table = Table(title=f"Synthetic stores of {', '.join(f'{n}×' for n in scales)} Berlin")
    table.add_column("measure")
    for n in scales:
        table.add_column(f"{n}×", justify="right")
    for n in scales[1:]:
        table.add_column(f"{n}× / 1×", justify="right")
    for key in columns[scales[0]]:
        cells = [f"{columns[n][key]:,.3f}" for n in scales]
        base = columns[scales[0]][key] or 1e-9
        cells += [f"{columns[n][key] / base:,.1f}" for n in scales[1:]]
        table.add_row(key, *cells)
    Console().print(table)
    Console().print(f"measured {date.today():%d.%m.%Y}; medians of 3 where repeated")


if __name__ == "__main__":
    main()
