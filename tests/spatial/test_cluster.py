"""The embedded cluster: repeated start/stop, stale pid files, running as root, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from conftest import accessible_tempdir
from sqlalchemy.engine import make_url

from spatial.cluster import ClusterError, EmbeddedCluster
from spatial.store import head_revision

CLI = [sys.executable, "-m", "cli.main"]


@pytest.fixture
def data_dir():
    path = accessible_tempdir("sz-cluster-")
    yield path
    cluster = EmbeddedCluster(path)
    if cluster.initialised:
        cluster.stop()
    shutil.rmtree(path, ignore_errors=True)


def connect(cluster: EmbeddedCluster) -> psycopg.Connection:
    url = make_url(cluster.url())
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        connect_timeout=5,
    )


def server_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_start_twice_stop_start_again(data_dir):
    cluster = EmbeddedCluster(data_dir)
    assert not cluster.status().initialised
    first = cluster.start()
    assert any("created a new cluster" in note for note in first)
    assert cluster.start() == []  # already running: nothing to do
    with connect(cluster) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert cluster.stop() is True
    assert cluster.stop() is False
    assert not cluster.status().running
    cluster.start()
    status = cluster.status()
    assert status.running and status.port == make_url(cluster.url()).port
    with connect(cluster) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs as postgres
        import pwd

        assert server_uid(status.pid) == pwd.getpwnam("postgres").pw_uid
    assert oct(os.stat(cluster.password_file).st_mode & 0o777) == "0o600"


def test_stale_pid_file_is_handled(data_dir):
    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    cluster.stop()
    # What a crash or reboot leaves behind: a lock file naming a process that is gone.
    gone = subprocess.Popen(["true"])
    gone.wait()
    (cluster.pgdata / "postmaster.pid").write_text(f"{gone.pid}\n{cluster.pgdata}\n")
    assert not cluster.status().running
    notes = cluster.start()
    assert "removed a stale postmaster.pid" in notes
    with connect(cluster) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_busy_port_moves_to_a_free_one(data_dir):
    import socket

    cluster = EmbeddedCluster(data_dir)
    cluster.start()
    port = cluster.status().port
    cluster.stop()
    with socket.socket() as blocker:
        # The stopped server's connections may linger in TIME_WAIT on this port.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        notes = cluster.start()
        assert cluster.status().port != port
        assert any(note.startswith("using port") for note in notes)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_data_dir_the_postgres_user_cannot_enter(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    with pytest.raises(ClusterError, match="the postgres user cannot enter"):
        EmbeddedCluster(private).start()


def test_cli_db_commands(data_dir):
    env = {**os.environ, "SOZIALRAUM_DATA_DIR": str(data_dir)}
    env.pop("SOZIALRAUM_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert run("db", "status").returncode == 3
    assert run("db", "start").returncode == 0
    second = run("db", "start")
    assert second.returncode == 0 and "running" in second.stdout
    url = run("db", "url").stdout.strip()
    assert url.startswith("postgresql+psycopg://sozialraum:")
    migrated = run("db", "migrate")
    assert migrated.returncode == 0 and head_revision() in migrated.stdout
    assert run("db", "stop").stdout.strip() == "stopped"
    assert run("db", "status").returncode == 3
    assert run("db", "start").returncode == 0
    assert run("db", "status").returncode == 0
    assert run("db", "stop").returncode == 0
