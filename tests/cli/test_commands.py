"""The ``sozialraum`` command as a user runs it: help, one-line errors, and the demo server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from conftest import accessible_tempdir
from geodata import grid, points, write

CLI = [sys.executable, "-m", "cli.main"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["ingest"],
        ["ingest", "boundaries"],
        ["ingest", "statistics"],
        ["ingest", "facilities"],
        ["indicators", "list"],
        ["serve"],
        ["demo"],
        ["layer", "show"],
        ["crosswalk", "build"],
        ["crosswalk", "apportion"],
        ["supply", "access"],
        ["users"],
        ["users", "add"],
        ["export"],
        ["export", "regions"],
        ["export", "facilities"],
        ["export", "projects"],
        ["export", "events"],
        ["systems"],
        ["systems", "delete"],
        ["city", "check"],
    ],
)
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_indicator_catalog_lists_file_and_facility_indicators():
    result = run("indicators", "list", env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    for key in ("inhabitants", "mss_s1_unemployment", "mss_k03_old_age_poverty", "kita_places"):
        assert key in result.stdout


def test_bad_input_is_one_line_without_traceback(db_url, tmp_path):
    path = write(points(["01"]), tmp_path / "points.gpkg")
    args = [
        "ingest",
        "boundaries",
        "--system",
        "t",
        "--level",
        "a",
        "--code-field",
        "code",
        "--file",
        str(path),
    ]
    result = run(*args, env={"SOZIALRAUM_DATABASE_URL": db_url})
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "Point is not a polygon" in lines[0]
    debug = run("--debug", *args, env={"SOZIALRAUM_DATABASE_URL": db_url})
    assert "Traceback" in debug.stderr


@pytest.mark.mirror
def test_users_from_the_command_line(records_url):
    env = {"SOZIALRAUM_DATABASE_URL": records_url, "COLUMNS": "200"}

    def users(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "users", *args],
            env={**os.environ, **env},
            input=password,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    added = users(
        "add",
        "cli-koord",
        "--role",
        "coordinator",
        "-d",
        "10",
        "--name",
        "Koordination CLI",
        "--password-stdin",
        password="ein-langes-passwort\n",
    )
    assert added.returncode == 0, added.stderr
    said = " ".join(added.stdout.split())  # the console may wrap the line
    assert "districts: berlin-lor-2019:10, berlin-lor-2021:10)" in said
    listed = users("list")
    assert "cli-koord" in listed.stdout and "Koordination CLI" in listed.stdout
    short = users("set-password", "cli-koord", "--password-stdin", password="kurz\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    no_district = users(
        "add",
        "cli-ohne",
        "--role",
        "coordinator",
        "--password-stdin",
        password="ein-langes-passwort\n",
    )
    assert no_district.returncode == 1 and "needs at least one district" in no_district.stderr
    token = users("token", "cli-koord").stdout.strip()
    assert token.startswith("szt_")
    assert users("disable", "cli-koord").returncode == 0
    from sqlalchemy import text

    from accounts.tokens import token_user
    from accounts.users import authenticate
    from spatial.store import make_engine

    engine = make_engine(records_url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE username = 'cli-koord'")
        ).scalar_one()
        assert stored.startswith("$argon2id$")
        assert authenticate(conn, "cli-koord", "ein-langes-passwort") is None  # disabled
        assert token_user(conn, token) is None  # its token ended with it
    engine.dispose()


def test_analysis_commands_on_berlin(berlin_url):
    env = {"SOZIALRAUM_DATABASE_URL": berlin_url, "COLUMNS": "200"}
    shown = run(
        "layer", "show", "berlin-lor-2021", "bezirk", "kita_places_per_100_u6", "2022-12-31",
        "--method", "equal_interval", "--classes", "3", env=env,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Marzahn-Hellersdorf" in shown.stdout and "Berlin/Gesamt: 87,6" in shown.stdout
    access = run(
        "supply", "access", "berlin-lor-2021", "bezirk", "kita", "inhabitants_age_below_6",
        "--radius", "1000", env=env,
    )  # fmt: skip
    assert access.returncode == 0 and "Reinickendorf" in access.stdout, access.stderr
    missing = run(
        "crosswalk", "apportion", "berlin-lor-2021", "berlin-lor-2019", "-i", "x", env=env
    )
    assert missing.returncode == 1 and "build it first" in missing.stderr
    bad = run("layer", "show", "berlin-lor-2021", "plr", "inhabitants", "2024-12-31",
              "--classes", "12", env=env)  # fmt: skip
    assert bad.returncode == 1 and "number of classes must be 2–9" in bad.stderr


@pytest.mark.mirror
def test_indicator_store_status(berlin_url):
    result = run("indicators", "store", env={"SOZIALRAUM_DATABASE_URL": berlin_url,
                                             "COLUMNS": "200"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = next(row for row in result.stdout.splitlines() if "berlin-lor-2021" in row)
    tables, values, missing = (int(c.strip().replace(",", "")) for c in line.split("│")[2:5])
    assert tables > 600 and values > 100_000 and missing == 0


def test_export_from_the_command_line(berlin_url, tmp_path):
    import pyogrio

    env = {"SOZIALRAUM_DATABASE_URL": berlin_url, "COLUMNS": "200"}
    made = run(
        "export", "regions", "berlin-lor-2021", "bzr", "-i", "kita_places,inhabitants",
        "-p", "2024-12-31", "--region", "10", "-f", "gpkg", "-o", str(tmp_path), env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    path = tmp_path / "berlin-lor-2021_bzr_10_kita-places-inhabitants_2024-12.gpkg"
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 9 and frame["inhabitants"].sum() > 250_000
    assert "kita_places: latest period 2022-12-31" in made.stdout
    assert "attribution" in pyogrio.read_info(path)["dataset_metadata"]
    made = run("export", "facilities", "pflegeeinrichtung", "-f", "csv", "--csv-profile",
               "plain", "-o", str(tmp_path), env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(tmp_path / "facilities_pflegeeinrichtung.csv.zip") as archive:
        lines = archive.read("facilities_pflegeeinrichtung.csv").decode().splitlines()
    assert len(lines) == 275 and lines[0].startswith("x,y,id,")
    bad = run("export", "regions", "berlin-lor-2021", "bzr", "-f", "kml", "-o", str(tmp_path),
              env=env)  # fmt: skip
    assert bad.returncode == 1 and "unknown format 'kml'" in bad.stderr
    # (readers may leave a GDAL .aux.xml beside a file they opened)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".aux.xml")) == [
        "berlin-lor-2021_bzr_10_kita-places-inhabitants_2024-12.gpkg",
        "facilities_pflegeeinrichtung.csv.zip",
    ]


def test_profiles_of_a_bezirk_from_the_command_line(berlin_url, tmp_path):
    env = {"SOZIALRAUM_DATABASE_URL": berlin_url, "COLUMNS": "200"}
    out = tmp_path / "profile"
    made = run("profiles", "build", "--level", "bzr", "--bezirk", "10", "-o", str(out), env=env)
    assert made.returncode == 0, made.stderr
    assert "9 profiles" in made.stdout and "9/9" in made.stdout  # the progress bar's end
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 9 and files[0] == "profil_berlin-lor-2021_bzr_101001_marzahn-nord.pdf"
    assert all((out / f).read_bytes().startswith(b"%PDF") for f in files)
    for args, message in (
        (("--bezirk", "99"), "unknown Bezirk '99'"),
        (("--level", "kiez"), "unknown region level berlin-lor-2021/kiez"),
        (("--format", "docx"), "unknown profile format 'docx'"),
    ):
        options = {"--level": "bzr", "--bezirk": "10", "--format": "pdf"}
        options.update(dict([args]))
        target = tmp_path / f"bad-{args[0].strip('-')}"
        bad = run("profiles", "build", *sum(options.items(), ()), "-o", str(target), env=env)
        assert bad.returncode == 1 and message in bad.stderr, bad.stderr
        assert not target.exists()


def test_adhoc_statistics_file_from_the_command_line(db_url, tmp_path):
    env = {"SOZIALRAUM_DATABASE_URL": db_url}
    plr = write(grid(["01100101", "01100102"]), tmp_path / "plr.gpkg")
    loaded = run(
        "ingest", "boundaries", "--system", "t", "--level", "plr", "--code-field", "code",
        "--file", str(plr), env=env,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    table = tmp_path / "ew.csv"
    table.write_bytes("Nr;Einwohner\n01100101;3 182\n01100102;1.234\n".encode("cp1252"))
    args = [
        "ingest", "statistics", "--file", str(table), "--system", "t", "--level", "plr",
        "--code-column", "Nr", "--column", "Einwohner=inhabitants", "--period", "2024-12-31",
    ]  # fmt: skip
    result = run(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "31.12.2024" in result.stdout
    again = run(*args, env=env)
    assert "already loaded from the same data" in again.stdout
    bad = run(*args[:-2], "--period", "Dezember", env=env)
    assert bad.returncode == 1 and "is not a date" in bad.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_demo(mirror, *args: str) -> Iterator[str]:
    """``sozialraum demo`` from an empty data directory; yields its base URL once it answers,
    stops it and its cluster afterwards."""
    data_dir = accessible_tempdir("sz-demo-")
    port = free_port()
    env = {
        **os.environ,
        "SOZIALRAUM_DATA_DIR": str(data_dir),
        "SOZIALRAUM_DATA_MIRROR": str(mirror),
    }
    env.pop("SOZIALRAUM_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [*CLI, "demo", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "demo did not answer in time"
                time.sleep(0.5)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        run("db", "stop", env={"SOZIALRAUM_DATA_DIR": str(data_dir)})
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.mirror
def test_demo_from_an_empty_data_dir_serves_the_api(mirror):
    with running_demo(mirror) as base:
        health = httpx.get(f"{base}/health", timeout=5)
        assert health.json()["status"] == "ok"
        systems = httpx.get(f"{base}/api/systems").json()
        counts = {s["key"]: [lvl["regions"] for lvl in s["levels"]] for s in systems}
        assert counts == {"berlin-lor-2019": [12, 448], "berlin-lor-2021": [12, 58, 143, 542]}
