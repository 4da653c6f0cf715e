"""``python -m bench``: run every benchmark against a private PostGIS cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench.analysis import bench_analysis
from bench.boundaries import bench_boundaries
from bench.full_load import bench_full_load
from bench.profiles import bench_profiles
from bench.services import bench_services
from bench.soak import bench_soak
from bench.web import bench_web
from spatial.cluster import EmbeddedCluster
from spatial.settings import PROJECT_ROOT, DataSettings


def main() -> None:
    mirror = os.environ.get("SOZIALRAUM_DATA_MIRROR") or str(PROJECT_ROOT.parent / "shared/data")
    if not (Path(mirror) / "berlin").is_dir():
        raise SystemExit("benchmarks need the data mirror: set SOZIALRAUM_DATA_MIRROR")
    root = Path(tempfile.mkdtemp(prefix="sz-bench-"))
    os.chmod(root, 0o755)
    cluster = EmbeddedCluster(root)
    try:
        cluster.start()
        data = DataSettings(data_mirror=Path(mirror), cache_dir=root / "cache")
        repeats = int(os.environ.get("BENCH_REPEATS", "5"))
        bench_boundaries(cluster.url(), data, repeats=repeats)
        _, loaded = bench_full_load(cluster.url(), data, repeats=max(1, min(repeats, 3)))
        bench_analysis(loaded, data)
        bench_web(loaded)
        bench_services(loaded, repeats=repeats)
        bench_profiles(loaded, repeats=max(1, min(repeats, 3)))
        bench_soak(loaded)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
