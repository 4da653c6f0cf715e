"""Region profiles as PDF: one Bezirksregion (101001 Marzahn Nord) with a fresh layer cache
(every indicator table computed) and with a warm one (median of repeats), split into content,
pictures and PDF rendering; then all 9 Bezirksregionen of Marzahn-Hellersdorf in one batch,
compared with nine single builds from scratch (the ratio shows what the shared cache saves)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from layers.cache import LayerCache
from profiles.batch import BatchRequest, build_batch
from profiles.content import build_profile
from profiles.document import pictures, render_pdf
from profiles.settings import ProfileSettings
from records.settings import RecordSettings
from spatial.settings import DataSettings
from spatial.store import make_engine

SYSTEM = "berlin-lor-2021"


def _timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def bench_profiles(url: str, repeats: int = 3) -> dict[str, float]:
    engine = make_engine(url)
    settings, credit = ProfileSettings(), RecordSettings().credit()
    template = settings.template(DataSettings().packs(["berlin"])[0])
    results: dict[str, float] = {}

    def build(conn, cache):
        return build_profile(
            conn,
            cache,
            SYSTEM,
            "101001",
            internal=False,
            settings=settings,
            template=template,
            credit=credit,
        )

    with engine.connect() as conn:
        render_pdf(build(conn, LayerCache()))  # load WeasyPrint and fonts once, untimed
        cache = LayerCache()
        results["content, fresh cache"], profile = _timed(lambda: build(conn, cache))
        results["pictures"], _ = _timed(lambda: pictures(profile))
        results["pictures + PDF"], pdf = _timed(lambda: render_pdf(profile))
        results["one PDF, fresh cache"] = (
            results["content, fresh cache"] + results["pictures + PDF"]
        )
        warm = [_timed(lambda: render_pdf(build(conn, cache)))[0] for _ in range(max(repeats, 1))]
        results["one PDF, warm cache (median)"] = statistics.median(warm)
    with tempfile.TemporaryDirectory() as out:
        request = BatchRequest("bzr", Path(out), SYSTEM, "10")
        results["batch: 9 PDFs of Bezirk 10"], paths = _timed(
            lambda: build_batch(engine, request, settings, credit, DataSettings().packs(["berlin"]))
        )
        size = sum(p.stat().st_size for p in paths)
    engine.dispose()
    results["batch per profile"] = results["batch: 9 PDFs of Bezirk 10"] / len(paths)
    ratio = results["batch: 9 PDFs of Bezirk 10"] / (9 * results["one PDF, fresh cache"])

    table = Table(title="Region profiles (PDF, A4)")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    for what, seconds in results.items():
        table.add_row(what, f"{seconds:.2f}")
    table.add_row("batch / 9 × one from scratch", f"{ratio:.2f}")
    console = Console()
    console.print(table)
    console.print(f"one PDF {len(pdf):,} bytes; the batch wrote {len(paths)} files, {size:,} bytes")
    return results
