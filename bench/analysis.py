"""The analysis layer on a fully loaded store: one indicator for all 542 PLR and the four
coarser levels for all 8 periods (40 tables, each with parent and city values), a ratio
indicator recomputed from numerator and denominator likewise, and the two MSS indices."""

from __future__ import annotations

import statistics
import time
from datetime import date

from rich.console import Console
from rich.table import Table

from layers.composite import composite_table, load_composites
from layers.indicators import get_indicator, get_level, indicator_table, stored_periods
from spatial.settings import DataSettings
from spatial.store import make_engine

SYSTEM = "berlin-lor-2021"
LEVELS = ("plr", "bzr", "pgr", "bezirk")


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def bench_analysis(url: str, data: DataSettings) -> dict[str, float]:
    engine = make_engine(url)
    composites = load_composites(data.composites_dir)
    results = {}
    with engine.connect() as conn:
        system_id = get_level(conn, SYSTEM, "plr").system_id
        periods = stored_periods(conn, get_indicator(conn, "inhabitants"), system_id)
        for key in ("inhabitants", "share_foreigners"):
            times = [
                _timed(lambda lvl=level, p=period, k=key: indicator_table(conn, SYSTEM, lvl, k, p))
                for period in periods
                for level in LEVELS
            ]
            results[key] = (len(times), statistics.median(times), max(times), sum(times))
        for key in ("mss_status_index", "mss_dynamics_index"):
            index = composites[key]
            times = [
                _timed(lambda i=index: composite_table(conn, i, SYSTEM, "plr", date(2020, 12, 31)))
                for _ in range(5)
            ]
            results[key] = (len(times), statistics.median(times), max(times), sum(times))
    engine.dispose()
    table = Table(title="analysis layer on the full Berlin store (aim: < 1 s per table)")
    for column in ("what", "tables", "median s", "max s", "total s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for key, (n, median, worst, total) in results.items():
        table.add_row(key, str(n), f"{median:.3f}", f"{worst:.3f}", f"{total:.2f}")
    Console().print(table)
    return {key: value[1] for key, value in results.items()}
