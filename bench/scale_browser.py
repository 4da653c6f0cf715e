"""The map of a synthetic store as a browser and as eight clients see it, against the server
in a process of its own (no base map, so only our bytes count): the first drawing of the map
in chromium on the freshly started server and a second one, with the bytes the map took; then
eight clients fetching what the browser fetched (the page and its tiles, from the caches) for
a while; and the server's memory after all of it."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
from playwright.sync_api import Error as PlaywrightError

from bench.servers import chromium, ours, rss_mb

READY = (
    "() => { const f = document.querySelector('#map-frame');"
    " return f && (f.dataset.tiles === 'loaded' || Number(f.dataset.regions) > 0); }"
)


def map_in_chromium(base: str, path: str, visits: int = 2) -> tuple[list[float], int, list[str]]:
    """Seconds until the map is drawn, per visit; bytes of the first visit; the URLs of our
    data it fetched (page, choropleth or tiles)."""
    times: list[float] = []
    sizes: dict[str, int] = {}

    def record(response) -> None:
        # a response cut off when its page closed sent no body to count
        with contextlib.suppress(PlaywrightError):
            sizes[response.url] = len(response.body())

    with chromium() as browser:
        for visit in range(visits):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if visit == 0:
                page.on("response", record)
            started = time.perf_counter()
            page.goto(base + path)
            page.wait_for_function(READY, timeout=120_000)
            times.append(time.perf_counter() - started)
            if visit == 0:  # every byte the drawn map asked for, before its page closes
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("networkidle", timeout=10_000)
            context.close()
    data = [u for u in sizes if "/tiles/" in u or "/api/choropleth/" in u or u == base + path]
    return times, sum(sizes.values()), data


def clients_on(urls: list[str], clients: int = 8, seconds: float = 10.0) -> float:
    """Requests per second of ``clients`` threads fetching ``urls`` round and round."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = number
            while time.monotonic() < stop:
                response = http.get(urls[i % len(urls)])
                response.raise_for_status()
                done[number] += 1
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def browser_figures(url: str, system: str, level: str, indicator: str) -> dict[str, float]:
    path = f"/?system={system}&level={level}&indicator={indicator}"
    with ours(url, "scale", SOZIALRAUM_WEB_TILE_URL="") as (base, pid):
        times, size, data = map_in_chromium(base, path)
        rate = clients_on(data)
        return {
            "map drawn in chromium, fresh server s": times[0],
            "map drawn again s": times[-1],
            "map transferred MB": size / 1e6,
            "8 clients on the map's page and tiles req/s": rate,
            "server memory after the run MB": rss_mb(pid),
        }
