"""Web fixtures on the loaded Berlin store (shared through tests/conftest.py): an API client,
a live server in a thread (uvicorn) and headless chromium driven by Playwright; screenshots go
to ``test-artifacts/browser``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from people import PASSWORD

from spatial.settings import StoreSettings
from web.app import create_app
from web.assets import ensure_assets
from web.settings import Settings, WebSettings

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def web_settings() -> WebSettings:
    return WebSettings(max_features=5000, refresh_store=False)


@pytest.fixture(scope="session")
def client(berlin_url, web_settings) -> Iterator[TestClient]:
    """One app (and one layer cache) for the API tests."""
    app = create_app(Settings(web=web_settings, store=StoreSettings(database_url=berlin_url)))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(berlin_url, web_settings) -> Iterator[str]:
    yield from serve(berlin_url, web_settings)


@pytest.fixture(scope="session")
def records_client(records_url, web_settings) -> Iterator[TestClient]:
    """An app on the writable copy of the Berlin store."""
    app = create_app(Settings(web=web_settings, store=StoreSettings(database_url=records_url)))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def records_server(records_url, web_settings) -> Iterator[str]:
    yield from serve(records_url, web_settings)


def spawn_app(env: dict[str, str]) -> tuple[str, subprocess.Popen]:
    """The app in a process of its own with these settings (environment); its base URL once
    /health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "--factory", "web.app:create_app"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "SOZIALRAUM_WEB_REFRESH_STORE": "false", **env},
    )
    base = f"http://127.0.0.1:{port}"
    if not wait_until_serving(base, process, 60):
        process.kill()
        raise RuntimeError("the server process did not start")
    return base, process


def wait_until_serving(base: str, process: subprocess.Popen, seconds: float) -> bool:
    """Whether ``/health`` of the server started as ``process`` answers 200 within
    ``seconds`` (False as soon as the process has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


@pytest.fixture(scope="session")
def server_process(berlin_url) -> Iterator[str]:
    """The app in its own process, for clients that hold the interpreter lock while they wait
    for the answer (GDAL through pyogrio)."""
    base, process = spawn_app({"SOZIALRAUM_DATABASE_URL": berlin_url})
    yield base
    process.terminate()
    process.wait(timeout=20)


def serve(url: str, web_settings: WebSettings) -> Iterator[str]:
    """The app on ``url`` in a uvicorn thread; yields its base URL."""
    ensure_assets()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(Settings(web=web_settings, store=StoreSettings(database_url=url)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


def policy_violations(tab) -> list[str]:
    """What the browser refused under the Content-Security-Policy on this tab (filled live)."""
    refused: list[str] = []
    tab.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


@pytest.fixture
def page(browser):
    """A chromium tab; the test fails if the page broke its Content-Security-Policy."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="de-DE")
    tab = context.new_page()
    refused = policy_violations(tab)
    yield tab
    context.close()
    assert not refused, f"refused by the Content-Security-Policy: {refused}"


@pytest.fixture(scope="session")
def shots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def log_in(page, base: str, username: str, target: str) -> None:
    """Sign in through the login form and wait for the redirect to ``target``."""
    page.goto(f"{base}/login?next={target}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(target) + "$"))


def download(client, url: str, tmp_path: Path, **params) -> Path:
    """GET an export and keep it under the name the server gives it (Content-Disposition)."""
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    name = re.search(r'filename="([^"]+)"', response.headers["content-disposition"]).group(1)
    path = tmp_path / name
    path.write_bytes(response.content)
    return path
