"""Map page benchmarks: server time of the choropleth endpoint (median of repeated calls,
cold and warm) against a baseline that serves the same 542 polygons the plain way (full
geometry, ST_AsGeoJSON per row, JSON assembled in Python), measured in one run; page weight
(HTML + scripts + data) and the time until the choropleth is drawn in headless chromium."""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time

import uvicorn
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.servers import chromium
from spatial.settings import StoreSettings
from spatial.store import make_engine
from web.app import create_app
from web.assets import ensure_assets
from web.settings import Settings, WebSettings

CHOROPLETH = "/api/choropleth/berlin-lor-2021/plr/share_age_above_65"
PAGE = "/?level=plr&indicator=share_age_above_65"


def median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _baseline(url: str) -> bytes:
    """The plain way: every polygon at full resolution, properties joined in Python."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.code, r.name, ST_AsGeoJSON(ST_Transform(r.geom, 4326)) AS g "
                "FROM regions r JOIN region_levels l ON l.id = r.level_id "
                "JOIN region_systems s ON s.id = r.system_id "
                "WHERE s.key = 'berlin-lor-2021' AND l.key = 'plr'"
            )
        ).all()
    engine.dispose()
    features = [
        {"type": "Feature", "geometry": json.loads(g), "properties": {"code": c, "name": n}}
        for c, n, g in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _serve(app) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _collect_into(sizes: list[int]):
    return lambda request: sizes.append(request.sizes()["responseBodySize"])


def _browser(base: str, repeats: int) -> tuple[float, int]:
    """Median ms until all 542 regions are drawn, and the bytes the page transferred."""
    times, weights = [], []
    with chromium() as browser:
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            transferred: list[int] = []
            page.on("requestfinished", _collect_into(transferred))
            started = time.perf_counter()
            page.goto(base + PAGE)
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-choropleth-pane path').length === 542",
                timeout=60_000,
            )
            times.append(time.perf_counter() - started)
            page.wait_for_load_state("networkidle")
            weights.append(sum(transferred))
            context.close()
    return statistics.median(times) * 1000, int(statistics.median(weights))


def bench_web(url: str, repeats: int = 20) -> dict[str, float]:
    ensure_assets()
    app = create_app(
        Settings(web=WebSettings(refresh_store=False), store=StoreSettings(database_url=url))
    )
    results: dict[str, float] = {}
    with TestClient(app) as client:
        started = time.perf_counter()
        body = client.get(CHOROPLETH).content
        results["choropleth cold ms"] = (time.perf_counter() - started) * 1000
        results["choropleth warm ms"] = median_ms(lambda: client.get(CHOROPLETH), repeats)
        app.state.cache.clear()
        results["choropleth recomputed ms"] = median_ms(
            lambda: (app.state.cache.clear(), client.get(CHOROPLETH)), max(3, repeats // 4)
        )
        results["choropleth bytes"] = len(body)
        packed = client.get(CHOROPLETH, headers={"Accept-Encoding": "gzip"}).headers
        results["choropleth gzip bytes"] = int(packed["content-length"])
    baseline = _baseline(url)
    results["baseline ms"] = median_ms(lambda: _baseline(url), max(3, repeats // 4))
    results["baseline bytes"] = len(baseline)
    server, base = _serve(
        create_app(
            Settings(web=WebSettings(refresh_store=False), store=StoreSettings(database_url=url))
        )
    )
    try:
        results["page drawn ms"], results["page transferred bytes"] = _browser(base, 5)
    finally:
        server.should_exit = True
    _print(results)
    return results


def _print(results: dict[str, float]) -> None:
    table = Table(title="Map page and choropleth (542 PLR)")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:,.0f}" if "bytes" in key else f"{value:.1f}")
    ratio = results["choropleth warm ms"] / results["baseline ms"]
    table.add_row("ratio warm / baseline", f"{ratio:.3f}")
    ratio = results["choropleth recomputed ms"] / results["baseline ms"]
    table.add_row("ratio recomputed / baseline", f"{ratio:.3f}")
    table.add_row(
        "ratio bytes / baseline", f"{results['choropleth bytes'] / results['baseline bytes']:.3f}"
    )
    Console().print(table)
