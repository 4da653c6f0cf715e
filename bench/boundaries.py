"""Boundary ingest of berlin-lor-2021 (read, validate, transform, repair, dissolve, check, in
one transaction) against the common baseline: geopandas reading the same files and writing
them with ``to_postgis``, without any validation, hierarchy or checks."""

from __future__ import annotations

import statistics
import time

import geopandas as gpd
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from ingest.jobs import ingest_system
from ingest.manifest import load_manifest
from spatial.settings import DataSettings
from spatial.store import make_engine, migrate

SRID = 25833


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_boundaries(url: str, data: DataSettings, repeats: int = 5) -> dict[str, float]:
    migrate(url, SRID)
    engine = make_engine(url)
    manifest = load_manifest(data.manifest_dir, "berlin-lor-2021")
    files = [data.data_mirror / lvl.source.mirror_path for lvl in manifest.levels if lvl.source]

    def ours() -> None:
        ingest_system(engine, "berlin-lor-2021", data, srid=SRID, force=True)

    def baseline() -> None:
        for index, path in enumerate(files):
            frame = gpd.read_file(path, engine="pyogrio").to_crs(SRID)
            frame.to_postgis(f"baseline_{index}", engine, if_exists="replace")

    ours()  # warm caches and the schema once for both
    baseline()
    ours_s = _median_seconds(ours, repeats)
    base_s = _median_seconds(baseline, repeats)
    with engine.begin() as conn:
        for index in range(len(files)):
            conn.execute(text(f'DROP TABLE IF EXISTS "baseline_{index}"'))
    engine.dispose()

    table = Table(title=f"boundary ingest berlin-lor-2021, median of {repeats}")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_row("sozialraum ingest (743 regions + 12 dissolved, checks)", f"{ours_s:.2f}")
    table.add_row("baseline: geopandas read + to_crs + to_postgis (743 rows)", f"{base_s:.2f}")
    table.add_row("ratio ours / baseline", f"{ours_s / base_s:.2f}")
    Console().print(table)
    return {"ours_s": ours_s, "baseline_s": base_s, "ratio": ours_s / base_s}
