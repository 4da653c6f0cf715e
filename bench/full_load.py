"""A full Berlin load from the mirror into an empty store: both LOR versions, every statistics
source and every facility source, exactly what ``make demo`` loads. Each repetition gets a new,
migrated database. The baseline reads the same input files with geopandas/pandas and writes them
unchanged with ``to_postgis``/``to_sql``: no validation, no codes matched, no regions assigned."""

from __future__ import annotations

import itertools
import time

import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.boundaries import SRID
from ingest.facilities import load_facility_source
from ingest.jobs import load_everything
from ingest.manifest import load_manifest, manifest_keys
from ingest.statistics_source import load_statistics_source
from spatial.settings import DataSettings
from spatial.store import create_database, make_engine, migrate

_names = itertools.count()
CITY = ["berlin"]


def _fresh_database(url: str) -> str:
    return create_database(url, f"bench_full_{next(_names)}")


def _input_files(data: DataSettings) -> tuple[list, list]:
    geo, tables = [], []
    for system in ("berlin-lor-2021", "berlin-lor-2019"):
        manifest = load_manifest(data.manifest_dir, system)
        geo += [data.data_mirror / lvl.source.mirror_path for lvl in manifest.levels if lvl.source]
    facilities, statistics = data.pack_dirs("facilities", CITY), data.pack_dirs("statistics", CITY)
    for key in manifest_keys(facilities):
        geo.append(data.data_mirror / load_facility_source(facilities, key).source.mirror_path)
    for key in manifest_keys(statistics):
        spec = load_statistics_source(statistics, key)
        tables += [data.data_mirror / source.mirror_path for _, source in spec.files()]
    return geo, tables


def bench_full_load(url: str, data: DataSettings, repeats: int = 3) -> tuple[dict, str]:
    """Times the full load; returns the figures and the URL of a fully loaded database."""
    geo, tables = _input_files(data)
    ours, base, counts, loaded = [], [], {}, ""
    for _ in range(repeats):
        target = _fresh_database(url)
        migrate(target, SRID)
        engine = make_engine(target)
        start = time.perf_counter()
        load_everything(engine, data, srid=SRID, cities=CITY)
        ours.append(time.perf_counter() - start)
        loaded = target
        with engine.connect() as conn:
            for table in ("regions", "statistic_values", "facilities", "facility_regions"):
                counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        engine.dispose()

        target = _fresh_database(url)
        migrate(target, SRID)
        engine = make_engine(target)
        start = time.perf_counter()
        for index, path in enumerate(geo):
            frame = gpd.read_file(path, engine="pyogrio").to_crs(SRID)
            frame.to_postgis(f"geo_{index}", engine, if_exists="replace")
        for index, path in enumerate(tables):
            pd.read_csv(path, dtype=str).to_sql(f"table_{index}", engine, if_exists="replace")
        base.append(time.perf_counter() - start)
        engine.dispose()

    ours_s, base_s = sorted(ours)[len(ours) // 2], sorted(base)[len(base) // 2]
    table = Table(title=f"full Berlin load into an empty store, median of {repeats}")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_row(
        f"sozialraum: 2 region systems, {len(tables)} statistics tables, "
        f"{len(manifest_keys(data.pack_dirs('facilities', CITY)))} facility files",
        f"{ours_s:.2f}",
    )
    table.add_row(
        f"baseline: read + write the same {len(geo) + len(tables)} files", f"{base_s:.2f}"
    )
    table.add_row("ratio ours / baseline", f"{ours_s / base_s:.2f}")
    Console().print(table)
    Console().print(", ".join(f"{k}: {v:,}" for k, v in counts.items()))
    figures = {"ours_s": ours_s, "baseline_s": base_s, "ratio": ours_s / base_s, **counts}
    return figures, loaded
