"""Opening the store: resolve the database URL (starting the embedded cluster on demand),
create engines, and bring the schema up to date with Alembic."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError

from spatial.cluster import EmbeddedCluster
from spatial.errors import SozialraumError
from spatial.settings import StoreSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreError(SozialraumError):
    """The store cannot be reached or is not in the expected state."""


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver whatever scheme the user wrote (postgres://, postgresql://)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"DATABASE_URL must point to PostgreSQL/PostGIS, not {parsed.drivername}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def resolve_database_url(settings: StoreSettings, start: bool = True) -> str:
    """The configured DATABASE_URL, or the embedded cluster's (started when ``start``)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    cluster = EmbeddedCluster(settings.data_dir, settings.pg_bindir)
    if start:
        cluster.start()
    return cluster.url()


def create_database(url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` on the server of ``url`` (replacing one of that name, so
    benchmarks and tests start empty); returns its URL."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _server_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(statement)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database ``url`` points to (connections to it are closed)."""
    name = make_url(url).database
    with _server_connection(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _server_connection(url: str) -> psycopg.Connection:
    """An autocommit connection to the server's maintenance database (for CREATE/DROP)."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )


def make_engine(
    url: str,
    pool_size: int = 5,
    pool_timeout: float = 30,
    probe: str | None = None,
    jit: bool = True,
) -> Engine:
    """An engine with a bounded pool (``pool_size`` kept, as many again on demand) that checks
    a connection before lending it, so a restarted server is reconnected to. The check is a
    bare ping, or the query ``probe`` whose answer the borrower can take (``probed``): a
    request that reads the store's version anyway makes one round trip for both. Without
    ``jit`` the server compiles no query: for short reads the compilation costs more than it
    saves once a large store's cost estimates pass the server's threshold."""
    url = normalise_url(url)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=probe is None,
        future=True,
        connect_args={} if jit else {"options": _with_setting(url, "-c jit=off")},
    )
    if probe is not None:
        event.listen(engine, "checkout", _Probe(probe))
    return engine


def _with_setting(url: str, setting: str) -> str:
    """The server options of ``url`` (its ``options`` query) with ``setting`` added: an
    option given as a connect argument replaces the URL's own."""
    given = make_url(url).query.get("options")
    given = given[-1] if isinstance(given, tuple) else given
    return f"{given} {setting}" if given else setting


_PROBED = "sozialraum.probed"


class _Probe:
    """The pool's check of a connection it lends: ``sql`` run outside a transaction, its
    answer kept for the borrower; a connection the server no longer answers on is replaced
    (the pool connects again, up to three times)."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def __call__(self, dbapi_connection, record, proxy) -> None:
        record.info.pop(_PROBED, None)
        try:
            if dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                dbapi_connection.rollback()
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                with dbapi_connection.cursor() as cursor:
                    row = cursor.execute(self.sql).fetchone()
            finally:
                dbapi_connection.autocommit = autocommit
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            raise DisconnectionError(str(error).strip()) from error
        except psycopg.Error:
            return  # the server answered (a store without the probed table yet): alive
        record.info[_PROBED] = row[0] if row else None


def probed(conn: Connection) -> object | None:
    """The answer of the engine's ``probe`` when ``conn`` was lent, once (None after the first
    call, or without a probe)."""
    return conn.info.pop(_PROBED, None)


def alembic_config(url: str, srid: int):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    config.attributes["srid"] = srid
    return config


def migrate(url: str, srid: int, revision: str = "head") -> str:
    """Upgrade the schema to ``revision``; returns the revision the database is at afterwards."""
    from alembic import command

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            check_storage_srid(conn, srid)
    finally:
        engine.dispose()
    command.upgrade(alembic_config(url, srid), revision)
    return current_revision(url) or "base"


def current_revision(url: str) -> str | None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            has_table = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
            if not has_table:
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def check_storage_srid(conn, srid: int) -> None:
    """Refuse to run against a store that was created with another storage CRS."""
    has_meta = conn.execute(text("SELECT to_regclass('store_meta')")).scalar()
    if not has_meta:
        return
    stored = conn.execute(text("SELECT value FROM store_meta WHERE key = 'srid'")).scalar()
    if stored is not None and int(stored) != srid:
        raise StoreError(
            f"the store keeps geometry in EPSG:{stored} but SOZIALRAUM_SRID is {srid}; "
            "use the store's CRS or a new database"
        )


def open_store(settings: StoreSettings) -> Engine:
    """Engine on an up-to-date store: start the embedded cluster if needed and migrate."""
    url = resolve_database_url(settings)
    migrate(url, settings.srid)
    return make_engine(url)


def head_revision() -> str:
    """The newest migration this code base ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
