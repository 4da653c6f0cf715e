"""The analysis layer on a fully loaded store: one indicator for all 542 PLR and the four
coarser levels for all 8 periods (32 tables, each with parent and city values), a ratio
indicator and a derived formula likewise, the two MSS indices, Fisher-Jenks classes, the LOR
2019 → 2021 crosswalk with dasymetric re-apportioning, and 2SFCA for the Kitas."""

from __future__ import annotations

import statistics
import time
from datetime import date

from rich.console import Console
from rich.table import Table

from layers.classify import classify
from layers.composite import load_composites
from layers.crosswalk import apportion, build_crosswalk
from layers.evaluators import index_table
from layers.indicators import get_indicator, indicator_table, stored_periods
from layers.levels import get_level
from layers.materialize import refresh_store
from layers.registry import register_analysis_indicators
from layers.supply import two_step_fca
from spatial.settings import DataSettings
from spatial.store import make_engine

SYSTEM = "berlin-lor-2021"
LEVELS = ("plr", "bzr", "pgr", "bezirk")


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _repeat(results: dict, what: str, n: int, run) -> None:
    times = [_timed(run) for _ in range(n)]
    results[what] = (n, statistics.median(times), max(times), sum(times))


def _jenks(table) -> None:
    classify(table.rows, table.indicator, "fisher_jenks", 5)


def _kita_access(conn) -> None:
    two_step_fca(conn, SYSTEM, "plr", "kita", "inhabitants_age_below_6", radius_m=1000)


def _crosswalk(conn, reference: date | None) -> None:
    built = build_crosswalk(conn, "berlin-lor-2019", SYSTEM)
    if reference:
        apportion(conn, built, ["inhabitants"], weighting="dasymetric", reference_period=reference)


def bench_analysis(url: str, data: DataSettings) -> dict[str, float]:
    engine = make_engine(url)
    composites = load_composites(data.pack_dirs("composites"))
    results = {}
    with engine.begin() as conn:
        register_analysis_indicators(conn, data)
    with engine.begin() as conn:
        started = time.perf_counter()
        kept = refresh_store(conn)
        results["indicator store: level tables"] = (kept, 0, 0, time.perf_counter() - started)
    with engine.connect() as conn:
        system_id = get_level(conn, SYSTEM, "plr").system_id
        periods = stored_periods(conn, get_indicator(conn, "inhabitants"), system_id)
        for key in ("inhabitants", "share_foreigners", "share_age_below_6"):
            times = [
                _timed(lambda lvl=level, p=period, k=key: indicator_table(conn, SYSTEM, lvl, k, p))
                for period in periods
                for level in LEVELS
            ]
            results[key] = (len(times), statistics.median(times), max(times), sum(times))
        for key in ("mss_status_index", "mss_dynamics_index"):
            index = composites[key]
            times = [
                _timed(lambda i=index: index_table(conn, i, SYSTEM, "plr", date(2020, 12, 31)))
                for _ in range(5)
            ]
            results[key] = (len(times), statistics.median(times), max(times), sum(times))
        share = indicator_table(conn, SYSTEM, "plr", "share_age_below_6", periods[-1])
        _repeat(results, "fisher_jenks k=5 (542 PLR)", 5, lambda: _jenks(share))
        _repeat(results, "2SFCA Kitas, 1 km (542 PLR)", 5, lambda: _kita_access(conn))
        _repeat(results, "crosswalk build 2019→2021", 3, lambda: _crosswalk(conn, None))
        _repeat(results, "crosswalk + dasymetric", 3, lambda: _crosswalk(conn, date(2022, 12, 31)))
        conn.rollback()
    engine.dispose()
    table = Table(title="analysis layer on the full Berlin store (aim: < 1 s per table)")
    for column in ("what", "tables", "median s", "max s", "total s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for key, (n, median, worst, total) in results.items():
        table.add_row(key, str(n), f"{median:.3f}", f"{worst:.3f}", f"{total:.2f}")
    Console().print(table)
    return {key: value[1] for key, value in results.items()}
