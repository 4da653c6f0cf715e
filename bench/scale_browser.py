"""The map of a synthetic store as a browser and as eight clients see it, against the server
in a process of its own (no base map, so only our bytes count): the first drawing of the map
in chromium on the freshly started server and a second one, with the bytes the map took; then
eight clients fetching what the browser fetched (the page and its tiles, from the caches) for
a while; and the server's memory after all of it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
READY = (
    "() => { const f = document.querySelector('#map-frame');"
    " return f && (f.dataset.tiles === 'loaded' || Number(f.dataset.regions) > 0); }"
)


@contextmanager
def served(url: str) -> Iterator[tuple[str, int]]:
    """The app on ``url`` in a uvicorn process; yields its base URL and process id."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "SOZIALRAUM_DATABASE_URL": url,
        "SOZIALRAUM_WEB_REFRESH_STORE": "false",
        "SOZIALRAUM_WEB_TILE_URL": "",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app"]
    log = (Path(os.environ.get("TMPDIR", "/tmp")) / f"sz-scale-server-{port}.log").open("w")
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (log: {log.name})")
            time.sleep(0.3)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def map_in_chromium(base: str, path: str, visits: int = 2) -> tuple[list[float], int, list[str]]:
    """Seconds until the map is drawn, per visit; bytes of the first visit; the URLs of our
    data it fetched (page, choropleth or tiles)."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    sizes: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        for visit in range(visits):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            if visit == 0:
                page.on("response", lambda r: sizes.__setitem__(r.url, len(r.body())))
            started = time.perf_counter()
            page.goto(base + path)
            page.wait_for_function(READY, timeout=120_000)
            times.append(time.perf_counter() - started)
            context.close()
        browser.close()
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


def memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_figures(url: str, system: str, level: str, indicator: str) -> dict[str, float]:
    path = f"/?system={system}&level={level}&indicator={indicator}"
    with served(url) as (base, pid):
        times, size, data = map_in_chromium(base, path)
        rate = clients_on(data)
        return {
            "map drawn in chromium, fresh server s": times[0],
            "map drawn again s": times[-1],
            "map transferred MB": size / 1e6,
            "8 clients on the map's page and tiles req/s": rate,
            "server memory after the run MB": memory_mb(pid),
        }
