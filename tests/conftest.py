"""Shared fixtures: a real PostgreSQL + PostGIS cluster started by the tests themselves (with the
project's own embedded-cluster code), a migrated template database, a fresh database per test,
and the real Berlin data mirror."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from localhttp import server  # noqa: F401  (a fixture shared by several test modules)
from people import (  # noqa: F401
    people,
    records_engine,
    town_client,
    town_engine,
    town_people,
    town_records_url,
)
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from village import village  # noqa: F401
from webserver import (  # noqa: F401
    browser,
    client,
    live_server,
    page,
    records_client,
    records_server,
    server_process,
    shots,
    web_settings,
)

from ingest.jobs import load_everything
from layers.materialize import refresh_store
from layers.registry import register_analysis_indicators
from spatial import store
from spatial.cluster import EmbeddedCluster
from spatial.settings import PROJECT_ROOT, DataSettings
from spatial.store import make_engine, migrate

SRID = 25833
TEMPLATE = "sz_template"
_counter = itertools.count()


def mirror_dir() -> Path | None:
    configured = os.environ.get("SOZIALRAUM_DATA_MIRROR")
    candidate = Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "data"
    return candidate.resolve() if (candidate / "berlin").is_dir() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    found = mirror_dir()
    if found is None:
        pytest.skip("no data mirror: set SOZIALRAUM_DATA_MIRROR to the Berlin data directory")
    return found


def accessible_tempdir(prefix: str) -> Path:
    """A temp dir the postgres user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o755)
    return path


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedCluster]:
    root = accessible_tempdir("sz-test-")
    cluster = EmbeddedCluster(root)
    cluster.start()
    migrate(store.create_database(cluster.url(), TEMPLATE), SRID)
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


def create_database(cluster: EmbeddedCluster) -> str:
    """A fresh database from the migrated template."""
    name = f"sz_test_{os.getpid()}_{next(_counter)}"
    return store.create_database(cluster.url(), name, template=TEMPLATE)


@pytest.fixture
def db_url(cluster: EmbeddedCluster) -> Iterator[str]:
    url = create_database(cluster)
    yield url
    store.drop_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def data_settings(tmp_path: Path) -> DataSettings:
    """No mirror, a private download cache: for generated files and local servers."""
    return DataSettings(data_mirror=None, cache_dir=tmp_path / "cache")


@pytest.fixture(scope="session")
def mirror_settings(mirror: Path, tmp_path_factory) -> DataSettings:
    return DataSettings(data_mirror=mirror, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def _berlin_pair(cluster: EmbeddedCluster, mirror_settings: DataSettings) -> Iterator[tuple]:
    """The loaded Berlin store, and a copy of it made before anyone connects (a database with
    open connections cannot serve as a template)."""
    url = create_database(cluster)
    eng = make_engine(url)
    load_everything(eng, mirror_settings, srid=SRID, cities=["berlin"])
    with eng.begin() as conn:
        register_analysis_indicators(conn, mirror_settings)
        refresh_store(conn)
    eng.dispose()
    copy = store.create_database(
        cluster.url(), f"sz_records_{os.getpid()}", template=make_url(url).database
    )
    second = store.create_database(
        cluster.url(), f"sz_two_{os.getpid()}", template=make_url(url).database
    )
    yield url, copy, second
    store.drop_database(second)
    store.drop_database(copy)
    store.drop_database(url)


@pytest.fixture(scope="session")
def berlin_url(_berlin_pair) -> str:
    """Everything the demo loads (both LOR versions, all statistics, all facilities); read-only."""
    return _berlin_pair[0]


@pytest.fixture(scope="session")
def records_url(_berlin_pair) -> str:
    """The same Berlin data in a database the tests of projects, events and accounts write to
    (each test makes its own users and records)."""
    return _berlin_pair[1]


def _with_hamburg(url: str, mirror_settings: DataSettings) -> str:
    """Load Hamburg's city pack from the mirror into the store at ``url``."""
    if not (mirror_settings.data_mirror / "hamburg").is_dir():
        pytest.skip("the data mirror has no hamburg/ directory")
    eng = make_engine(url)
    load_everything(eng, mirror_settings, srid=SRID, cities=["hamburg"])
    with eng.begin() as conn:
        register_analysis_indicators(conn, mirror_settings)
        refresh_store(conn)
    eng.dispose()
    return url


@pytest.fixture(scope="session")
def hamburg_url(cluster: EmbeddedCluster, mirror_settings: DataSettings) -> Iterator[str]:
    """A store with only Hamburg, loaded from the raw files by Hamburg's city pack; read-only."""
    url = _with_hamburg(create_database(cluster), mirror_settings)
    yield url
    store.drop_database(url)


@pytest.fixture(scope="session")
def two_city_url(_berlin_pair, mirror_settings: DataSettings) -> str:
    """Berlin and Hamburg in one store (Hamburg loaded into a copy of the Berlin store);
    read-only."""
    return _with_hamburg(_berlin_pair[2], mirror_settings)


@pytest.fixture
def berlin_engine(berlin_url: str) -> Iterator[Engine]:
    eng = make_engine(berlin_url)
    yield eng
    eng.dispose()


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table the ingest writes: 'nothing was written' means these stay."""
    tables = (
        "region_systems",
        "region_levels",
        "regions",
        "ingest_runs",
        "indicators",
        "statistic_values",
        "facility_categories",
        "facilities",
        "facility_regions",
    )
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def assert_nothing_written(engine: Engine, job, *fragments: str) -> str:
    """``job()`` must fail with a one-line IngestError naming every fragment, and leave every
    table as it was."""
    from ingest.errors import IngestError

    before = table_counts(engine)
    with pytest.raises(IngestError) as caught:
        job()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert table_counts(engine) == before
    return message
