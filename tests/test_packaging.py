"""The wheel carries code, templates, the map's scripts and the shipped data: built from this
checkout, installed into a fresh virtual environment and run from a directory outside the
checkout, ``sozialraum demo`` starts its own store (in the user's data directory), loads
Hamburg from the mirror and serves the map."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from conftest import accessible_tempdir
from webserver import wait_until_serving

from spatial.settings import PROJECT_ROOT
from web.assets import ensure_assets

pytestmark = pytest.mark.mirror


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    pytest.skip("uv is not available to build and install the wheel")


def _run(args: list, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_wheel_installed_elsewhere_runs_the_demo(mirror):
    if not (mirror / "hamburg").is_dir():
        pytest.skip("the data mirror has no hamburg/ directory")
    ensure_assets()
    root = accessible_tempdir("sz-wheel-")
    uv = _uv()
    try:
        _run([*uv, "build", "--wheel", "--out-dir", root / "dist", PROJECT_ROOT])
        (wheel,) = (root / "dist").glob("sozialraum-*.whl")
        _run([*uv, "venv", "--quiet", root / "venv", "--python", sys.executable])
        python = root / "venv" / "bin" / "python"
        _run([*uv, "pip", "install", "--quiet", "--python", python, wheel])
        outside = root / "elsewhere"
        outside.mkdir()
        where = _run(
            [python, "-c", "import spatial.settings as s; print(s.__file__, s.DATA_ROOT)"],
            cwd=outside,
        ).stdout.split()
        assert all(str(root / "venv") in p for p in where)  # code and data of the install

        port = _port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SOZIALRAUM_") and k not in ("DATABASE_URL", "PYTHONPATH")
        }
        env.update(XDG_DATA_HOME=str(root / "state"), SOZIALRAUM_DATA_MIRROR=str(mirror))
        demo = subprocess.Popen(
            [
                root / "venv" / "bin" / "sozialraum",
                "demo",
                "--city",
                "hamburg",
                "--port",
                str(port),
            ],
            cwd=outside,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_until_serving(base, demo, 300):
                said = demo.stdout.read()[-3000:] if demo.poll() is not None else "(running)"
                raise AssertionError(f"the demo did not serve within 5 minutes: {said}")
            page = httpx.get(base, timeout=30)
            assert page.status_code == 200 and "/static/vendor/leaflet/leaflet.js" in page.text
            script = httpx.get(f"{base}/static/vendor/leaflet/leaflet.js", timeout=30)
            assert script.status_code == 200 and len(script.content) > 10_000
            systems = httpx.get(f"{base}/api/systems", timeout=30).json()
            assert any("hamburg" in s["key"] for s in systems)
            assert (root / "state" / "sozialraum").is_dir()  # the store lives there
        finally:
            os.killpg(demo.pid, signal.SIGTERM)
            demo.wait(timeout=60)
            subprocess.run(
                [root / "venv" / "bin" / "sozialraum", "db", "stop"],
                env=env,
                cwd=outside,
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
