"""Beyond one machine: two worker processes behind one database, reading from a streaming replica
(started here with pg_basebackup, synchronous with ``remote_apply`` so a commit is visible on
the replica when it returns), writing to the primary. A project saved through one worker is seen
through the other at the next request; read-only endpoints answer from the replica, also while
the primary is down; each worker's cache follows the data version."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import date

import httpx
import psycopg
import pytest
from conftest import SRID, accessible_tempdir
from geodata import X0, Y0, load_town, load_town_values
from people import square
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from webserver import spawn_app

from accounts.tokens import create_token
from accounts.users import add_user
from layers.materialize import refresh_store
from layers.registry import register_analysis_indicators
from spatial import store
from spatial.cluster import EmbeddedCluster
from spatial.settings import DataSettings
from spatial.store import make_engine, migrate

PERIOD = date(2024, 12, 31)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(args: list[str], **env: str) -> None:
    command = ["runuser", "-u", "postgres", "--", "env", *(f"{k}={v}" for k, v in env.items())]
    subprocess.run([*command, *args], check=True, capture_output=True, cwd="/")


def _load(url: str, tmp_path, population: int) -> None:
    settings = DataSettings(data_mirror=None, cache_dir=tmp_path / "cache")
    engine = make_engine(url)
    table = tmp_path / f"ew-{population}.csv"
    table.write_text(f"Nr;EW\n010101;{population}\n010102;1000\n010103;500\n")
    try:
        if population == 100:
            load_town(engine, tmp_path, settings, SRID)
        load_town_values(
            engine, table, settings, {"EW": "inhabitants"}, PERIOD, force=True, replace=True
        )
        with engine.begin() as conn:
            register_analysis_indicators(conn, settings)
            refresh_store(conn)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Iterator[dict]:
    """A primary with the town and an admin, its synchronous streaming replica, and two
    workers that read from the replica."""
    root = accessible_tempdir("sz-replica-")
    primary = EmbeddedCluster(root / "primary")
    primary.start()
    url = store.create_database(primary.url(), "sz_replicated")
    migrate(url, SRID)
    tmp = tmp_path_factory.mktemp("replica")
    _load(url, tmp, 100)
    engine = make_engine(url)
    with engine.begin() as conn:
        add_user(conn, "repl-admin", "richtig-langes-passwort", "admin")
        token = create_token(conn, "repl-admin", "tests")
    engine.dispose()

    standby = root / "standby"
    standby.mkdir(mode=0o700)
    shutil.chown(standby, "postgres", "postgres")
    parsed = make_url(url)
    _as_postgres(
        [
            str(primary.bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(parsed.port), "-U", parsed.username),
            *("-D", str(standby), "-R", "-X", "stream", "-c", "fast"),
        ],
        PGPASSWORD=parsed.password,
    )
    replica_port = _port()
    log = root / "standby.log"
    log.touch()
    shutil.chown(log, "postgres", "postgres")
    _as_postgres(
        [
            str(primary.bindir / "pg_ctl"),
            *("-D", str(standby), "-l", str(log), "-w", "-t", "60"),
            *("-o", f"-p {replica_port} -c unix_socket_directories={standby}", "start"),
        ]
    )
    admin = dict(host="127.0.0.1", port=parsed.port, user=parsed.username, password=parsed.password)
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        deadline = time.monotonic() + 30
        while not conn.execute("SELECT 1 FROM pg_stat_replication").fetchone():
            assert time.monotonic() < deadline, "the replica does not stream"
            time.sleep(0.2)
        conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
        conn.execute("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
        conn.execute("SELECT pg_reload_conf()")
    replica_url = parsed.set(port=replica_port).render_as_string(hide_password=False)
    workers = [_worker(url, replica_url) for _ in range(2)]
    try:
        yield {
            "primary": primary,
            "url": url,
            "replica_url": replica_url,
            "workers": [base for base, _ in workers],
            "headers": {"Authorization": f"Bearer {token}"},
            "tmp": tmp,
        }
    finally:
        for _, process in workers:
            process.terminate()
            process.wait(timeout=20)
        _as_postgres([str(primary.bindir / "pg_ctl"), "-D", str(standby), "-m", "fast", "stop"])
        primary.start()  # a test stops it
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


def _worker(url: str, replica_url: str) -> tuple[str, subprocess.Popen]:
    return spawn_app({"SOZIALRAUM_DATABASE_URL": url, "SOZIALRAUM_DATABASE_READ_URL": replica_url})


def _town_square() -> dict:
    lon, lat = Transformer.from_crs(SRID, 4326, always_xy=True).transform(X0 + 500, Y0 + 500)
    return square(lon, lat, half=0.001)


def _values(base: str) -> dict[str, float]:
    answer = httpx.get(f"{base}/api/values/town/plr/inhabitants", timeout=30)
    assert answer.status_code == 200, answer.text
    return {row["code"]: row["value"] for row in answer.json()["regions"]}


def test_a_project_saved_through_one_worker_is_seen_through_the_other(replicated):
    first, second = replicated["workers"]
    body = {
        "title": "Gemeinschaftsgarten am Rand",
        "status": "in Planung",
        "topic": "Wohnen und Wohnumfeld",
        "public": True,
        "geometry": _town_square(),
    }
    made = httpx.post(f"{first}/api/projects", json=body, headers=replicated["headers"])
    assert made.status_code == 201, made.text
    project_id = made.json()["project"]["id"]
    seen = httpx.get(f"{second}/api/projects/{project_id}", headers=replicated["headers"])
    assert seen.status_code == 200 and seen.json()["title"] == body["title"]


def test_each_worker_follows_the_data_version(replicated):
    first, second = replicated["workers"]
    assert _values(first)["010101"] == _values(second)["010101"] == 100  # now cached in both
    _load(replicated["url"], replicated["tmp"], 250)
    assert _values(first)["010101"] == _values(second)["010101"] == 250


def test_read_only_endpoints_answer_from_the_replica(replicated):
    replica = make_engine(replicated["replica_url"])
    with replica.connect() as conn:
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
    replica.dispose()
    first, _ = replicated["workers"]
    before = _values(first)
    replicated["primary"].stop()
    try:
        assert _values(first) == before  # the primary is down, the replica answers
        other = httpx.get(f"{first}/api/choropleth/town/bzr/inhabitants", timeout=30)
        assert other.status_code == 200
    finally:
        replicated["primary"].start()
