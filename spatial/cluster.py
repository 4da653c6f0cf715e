"""A private PostgreSQL + PostGIS cluster in the project's data directory.

Used whenever no ``DATABASE_URL`` is configured. The cluster is created with the system's
``initdb``/``pg_ctl``, listens only on 127.0.0.1 on a free port, and requires a password that is
generated on first start and kept (mode 0600) next to the cluster. PostgreSQL refuses to run as
root, so when we are root every server command runs as the ``postgres`` system user.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from spatial.errors import SozialraumError

DB_NAME = "sozialraum"
DB_USER = "sozialraum"
SERVER_USER = "postgres"


class ClusterError(SozialraumError):
    """The embedded cluster could not be created, started or stopped."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    initialised: bool
    port: int | None
    pid: int | None
    data_dir: Path

    def describe(self) -> str:
        if not self.initialised:
            return f"no cluster in {self.data_dir}"
        if self.running:
            return f"running (pid {self.pid}) on 127.0.0.1:{self.port}, data in {self.data_dir}"
        return f"stopped, data in {self.data_dir}"


def find_pg_bindir(explicit: Path | None = None) -> Path:
    """The directory with initdb and pg_ctl: the setting, the newest Debian install, or PATH."""
    if explicit is not None:
        if not (explicit / "initdb").exists():
            raise ClusterError(f"no initdb in SOZIALRAUM_PG_BINDIR={explicit}")
        return explicit
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if candidates:
        return candidates[0].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError(
        "PostgreSQL server binaries not found: install them (Debian: "
        "apt-get install postgresql-15 postgresql-15-postgis-3) or set SOZIALRAUM_DATABASE_URL"
    )


def postgis_available(bindir: Path) -> bool:
    """Whether the PostgreSQL installation in ``bindir`` has the PostGIS extension files."""
    version = bindir.parent.name
    share = Path("/usr/share/postgresql") / version / "extension"
    if share.is_dir():
        return any(share.glob("postgis.control"))
    return True  # a non-Debian layout: let CREATE EXTENSION tell


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the server itself: connections of a stopped server lingering in TIME_WAIT do not
        # make the port busy; only a listening socket does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _is_postgres_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


class EmbeddedCluster:
    """Create, start, stop and describe the project's private cluster."""

    def __init__(self, data_dir: Path, bindir: Path | None = None) -> None:
        self.root = data_dir / "postgres"
        self.pgdata = self.root / "pgdata"
        self.state_file = self.root / "cluster.json"
        self.password_file = self.root / "password"
        self.log_file = self.root / "server.log"
        self._bindir = bindir

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_pg_bindir()
        return self._bindir

    # -- running commands as the server user ------------------------------------------------
    def _as_server_user(self, args: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", SERVER_USER, "--", *args]
        return args

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            self._as_server_user(args), capture_output=True, text=True, cwd="/", check=False
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {proc.returncode}"
            raise ClusterError(f"{Path(args[0]).name} failed: {last} (log: {self.log_file})")
        return proc

    def _hand_to_server_user(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_traversable(self) -> None:
        """As root the server runs as ``postgres``: every parent directory must let it through."""
        if os.geteuid() != 0:
            return
        for parent in [self.root, *self.root.parents]:
            if parent.exists() and not os.stat(parent).st_mode & 0o001:
                raise ClusterError(
                    f"the postgres user cannot enter {parent} (mode "
                    f"{oct(os.stat(parent).st_mode & 0o777)}); choose another "
                    "SOZIALRAUM_DATA_DIR or run chmod o+x on it"
                )

    # -- state ----------------------------------------------------------------------------
    def _read_state(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {}

    def _write_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def _postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            first = pid_file.read_text().splitlines()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.strip().isdigit() else None

    def status(self) -> ClusterStatus:
        pid = self._postmaster_pid() if self.initialised else None
        running = pid is not None and _is_postgres_process(pid)
        return ClusterStatus(
            running=running,
            initialised=self.initialised,
            port=self._read_state().get("port"),
            pid=pid if running else None,
            data_dir=self.pgdata,
        )

    def url(self) -> str:
        state = self._read_state()
        if not state:
            raise ClusterError(f"no embedded cluster in {self.root}; run: sozialraum db start")
        password = self.password_file.read_text().strip()
        return f"postgresql+psycopg://{DB_USER}:{password}@127.0.0.1:{state['port']}/{DB_NAME}"

    # -- lifecycle --------------------------------------------------------------------------
    def init(self) -> None:
        """Create the cluster (once): password, initdb, network and auth settings."""
        if self.initialised:
            return
        if not postgis_available(self.bindir):
            raise ClusterError(
                f"PostGIS is not installed for PostgreSQL {self.bindir.parent.name}: "
                f"apt-get install postgresql-{self.bindir.parent.name}-postgis-3"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self._check_traversable()
        os.chmod(self.root, 0o755)
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-finished earlier initdb
        self.pgdata.mkdir(mode=0o700)
        self._hand_to_server_user(self.pgdata)
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        os.chmod(self.password_file, 0o600)
        pwfile = self.root / ".initdb-pw"
        pwfile.write_text(password + "\n")
        self._hand_to_server_user(pwfile)
        try:
            self._run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    DB_USER,
                    f"--pwfile={pwfile}",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# sozialraum embedded cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.pgdata}'\n"
                "fsync = on\n"
                "shared_buffers = 256MB\n"
                "work_mem = 64MB\n"
                "maintenance_work_mem = 256MB\n"
            )
        self._write_state({"port": _free_port(), "database": DB_NAME, "user": DB_USER})

    def start(self) -> list[str]:
        """Start the cluster if it is not running; returns notes on what was done."""
        notes: list[str] = []
        if not self.initialised:
            self.init()
            notes.append(f"created a new cluster in {self.pgdata}")
        self._check_traversable()
        current = self.status()
        if current.running:
            return notes
        if (self.pgdata / "postmaster.pid").exists():
            # The recorded server is gone (crash, reboot, kill -9): its lock file is stale.
            (self.pgdata / "postmaster.pid").unlink()
            notes.append("removed a stale postmaster.pid")
        state = self._read_state()
        port = state.get("port")
        if port is None or not _port_free(port):
            port = _free_port()
            notes.append(f"using port {port}")
            state["port"] = port
            self._write_state(state)
        if not self.log_file.exists():
            self.log_file.touch()
        self._hand_to_server_user(self.log_file)
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {port}",
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self._ensure_database(port)
        notes.append(f"started on 127.0.0.1:{port}")
        return notes

    def _ensure_database(self, port: int) -> None:
        import psycopg

        password = self.password_file.read_text().strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(
                    host="127.0.0.1",
                    port=port,
                    user=DB_USER,
                    password=password,
                    dbname="postgres",
                    autocommit=True,
                    connect_timeout=5,
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def stop(self) -> bool:
        """Stop the cluster; returns False when it was not running."""
        if not self.status().running:
            return False
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])
        return True
