"""Servers the benchmarks run in processes of their own (ours, tipg): started with their
output in a log file (a pipe nobody reads would fill and block a long run), waited for until
a probe answers, stopped at the end; and their resident memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
OURS = [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(command: list[str], env: dict, probe: str, log: Path) -> Iterator[int]:
    """``command`` with ``env`` added, until the ``with`` ends; yields its process id once
    ``probe`` answers 200 (within 90 s)."""
    with log.open("w") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(probe, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{Path(command[-1]).name} did not start; see {log}")
                time.sleep(0.3)
            yield process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def ours(url: str, name: str, **settings: str) -> Iterator[tuple[str, int]]:
    """Our app on the store at ``url`` (no store refresh, ``SOZIALRAUM_…`` settings added);
    yields its base URL and process id. The log is ``$TMPDIR/sozialraum-<name>.log``."""
    port = free_port()
    env = {"SOZIALRAUM_DATABASE_URL": url, "SOZIALRAUM_WEB_REFRESH_STORE": "false", **settings}
    command = [*OURS, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    base = f"http://127.0.0.1:{port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"sozialraum-{name}.log"
    with running(command, env, f"{base}/health", log) as pid:
        yield base, pid


@contextmanager
def chromium() -> Iterator:
    """Headless chromium (Debian's, no sandbox: the benchmarks run as root)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
