"""Soak: 50 loopback clients for 10 minutes (``SOAK_CLIENTS``, ``SOAK_SECONDS``) on vector
tiles, choropleths, OGC API items and profile PDFs of the Berlin store, against the app in its
own process with the default settings. Counted: requests, server errors (5xx, refused
connections) and the server's resident memory, sampled every 5 s; the growth after the warm-up
(the first fifth of the run) is the ratio this benchmark reports (target: 0 server errors and
less than 10 % growth)."""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict

import httpx
from rich.console import Console
from rich.table import Table

from bench.servers import ours, rss_mb
from bench.services import berlin_tiles

SYSTEM = "berlin-lor-2021"
CHOROPLETHS = [
    (level, indicator)
    for level in ("plr", "bzr", "pgr", "bezirk")
    for indicator in ("inhabitants", "share_age_above_65", "share_age_below_6")
] + [("plr", "mss_class")]  # the MSS classes exist for Planungsräume only
PROFILES = ["101001", "104009", "011002", "041001", "071001", "121001"]


def _requests() -> list[tuple[str, str]]:
    """(kind, path) of the mix; each client walks it from its own random start."""
    mix = [("tile", f"/tiles/{SYSTEM}-plr/{z}/{x}/{y}.mvt") for z, x, y in berlin_tiles(30)]
    mix += [
        ("choropleth", f"/api/choropleth/{SYSTEM}/{level}/{indicator}")
        for level, indicator in CHOROPLETHS
    ]
    mix += [
        ("ogc items", f"/ogc/collections/{SYSTEM}-plr/items?limit=100&offset={offset}")
        for offset in range(0, 542, 100)
    ]
    mix += [("profile pdf", f"/profile/{SYSTEM}/{code}.pdf") for code in PROFILES]
    return mix


def bench_soak(url: str, clients: int | None = None, seconds: float | None = None) -> dict:
    clients = clients or int(os.environ.get("SOAK_CLIENTS", "50"))
    seconds = seconds or float(os.environ.get("SOAK_SECONDS", "600"))
    with ours(url, "soak") as (base, pid):
        return _soak(base, pid, clients, seconds)


def _soak(base: str, pid: int, clients: int, seconds: float) -> dict:
    mix = _requests()
    stop = time.monotonic() + seconds
    counts: Counter = Counter()
    errors: Counter = Counter()
    latency: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def client(seed: int) -> None:
        order = itertools.cycle(random.Random(seed).sample(mix, len(mix)))
        with httpx.Client(base_url=base, timeout=120) as http:
            for kind, path in order:
                if time.monotonic() > stop:
                    return
                started = time.perf_counter()
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                took = time.perf_counter() - started
                with lock:
                    counts[kind] += 1
                    latency[kind].append(took)
                    if not isinstance(status, int) or status >= 500:
                        errors[f"{kind} {status}"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    samples = []
    while any(t.is_alive() for t in threads):
        samples.append((seconds - (stop - time.monotonic()), rss_mb(pid)))
        time.sleep(5)
    warm = [rss for at, rss in samples if at >= seconds / 5]
    after_warm_up, final = (warm[0], samples[-1][1]) if warm else (samples[0][1], samples[-1][1])
    result = {
        "requests": sum(counts.values()),
        "per_s": sum(counts.values()) / seconds,
        "server_errors": sum(errors.values()),
        "errors": dict(errors),
        "rss_after_warm_up_mb": after_warm_up,
        "rss_final_mb": final,
        "rss_max_mb": max(rss for _, rss in samples),
        "growth": final / after_warm_up - 1,
        "latency": {k: _quantiles(v) for k, v in latency.items()},
        "counts": dict(counts),
    }
    _print(result, clients, seconds)
    return result


def _quantiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


def _print(result: dict, clients: int, seconds: float) -> None:
    table = Table(title=f"Soak: {clients} clients for {seconds:.0f} s (Berlin store)")
    for column in ("requests", "median ms", "p95 ms"):
        table.add_column(column, justify="right")
    table.add_column("kind")
    for kind, (median, p95) in sorted(result["latency"].items()):
        table.add_row(f"{result['counts'][kind]:,}", f"{median:.0f}", f"{p95:.0f}", kind)
    console = Console()
    console.print(table)
    console.print(
        f"{result['requests']:,} requests ({result['per_s']:.1f}/s), "
        f"server errors: {result['server_errors']} {result['errors'] or ''}; memory "
        f"{result['rss_after_warm_up_mb']:.0f} MB after warm-up → {result['rss_final_mb']:.0f} "
        f"MB at the end (growth {result['growth']:+.1%}, max {result['rss_max_mb']:.0f} MB)"
    )


if __name__ == "__main__":  # python -m bench.soak <database url>
    bench_soak(sys.argv[1])
