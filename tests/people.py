"""Accounts and shapes for the tests of projects, events and access control: one user per role
(coordinators of Marzahn-Hellersdorf, 10, and Charlottenburg-Wilmersdorf, 04), their API tokens,
and small shapes inside those districts (WGS 84). The same people on the Berlin store
(``people``) and on a generated town (``town_people``: districts 10 and 04 as two 10 km
squares around the same shapes, no data mirror needed) for the tests of roles, CSRF and
contacts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy.engine import Engine

from accounts.tokens import create_token
from accounts.users import User, add_user
from spatial.settings import PROJECT_ROOT, DataSettings, StoreSettings
from spatial.store import drop_database, make_engine
from web.app import create_app
from web.settings import Settings, WebSettings

PASSWORD = "richtig-langes-passwort"
_serial = itertools.count()


def square(lon: float, lat: float, half: float = 0.002) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - half, lat - half],
                [lon + half, lat - half],
                [lon + half, lat + half],
                [lon - half, lat + half],
                [lon - half, lat - half],
            ]
        ],
    }


MARZAHN_NORD = square(13.565, 52.566)  # inside Bezirksregion 101001, Bezirk 10
CHARLOTTENBURG = square(13.2725, 52.5079)  # Bezirk 04


def project_body(**overrides) -> dict:
    body = {
        "title": "Nachbarschaftsgarten",
        "description": "Gemeinsam gärtnern",
        "status": "in Planung",
        "topic": "Wohnen und Wohnumfeld",
        "start_date": "2025-04-01",
        "end_date": "2026-10-31",
        "public": True,
        "geometry": MARZAHN_NORD,
    }
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Person:
    user: User
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def records_engine(records_url) -> Iterator[Engine]:
    engine = make_engine(records_url)
    yield engine
    engine.dispose()


TOWN = "probestadt"
# Bezirk → (west, south) corner of its 10 km square in EPSG:25833; one Bezirksregion each
TOWN_DISTRICTS = {"10": (398_000, 5_820_000), "04": (378_000, 5_814_000)}


def load_records_town(engine: Engine, folder: Path) -> None:
    """The generated town: levels 'bezirk' (10, 04) and 'bzr' (1001, 0401), one square each,
    and their inhabitants."""
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap
    from ingest.statistics import ingest_statistics_file

    settings = DataSettings(data_mirror=None, cache_dir=folder / "cache")
    for level, suffix in (("bezirk", ""), ("bzr", "01")):
        codes = [f"{code}{suffix}" for code in TOWN_DISTRICTS]
        frame = gpd.GeoDataFrame(
            {"code": codes, "name": [f"Gebiet {c}" for c in codes]},
            geometry=[box(x, y, x + 10_000, y + 10_000) for x, y in TOWN_DISTRICTS.values()],
            crs="EPSG:25833",
        )
        path = folder / f"{TOWN}-{level}.gpkg"
        frame.to_file(path, engine="pyogrio")
        ingest_file(
            engine,
            str(path),
            FileLevel(
                level=level,
                fields=FieldMap("code", "name"),
                system=TOWN,
                city="Probestadt",
                system_name="Probestadt",
            ),
            settings,
            srid=25833,
        )
    table = folder / "einwohner.csv"
    table.write_text("Nr;EW\n1001;12000\n0401;8000\n", encoding="utf-8")
    ingest_statistics_file(
        engine,
        str(table),
        settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}),
        system=TOWN,
        level="bzr",
        code_column="Nr",
        columns={"EW": "inhabitants"},
        period=date(2024, 12, 31),
    )


@pytest.fixture(scope="session")
def town_records_url(cluster, tmp_path_factory) -> Iterator[str]:
    """A writable store with the generated town only."""
    from conftest import create_database

    url = create_database(cluster)
    engine = make_engine(url)
    load_records_town(engine, tmp_path_factory.mktemp("town"))
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def town_engine(town_records_url) -> Iterator[Engine]:
    engine = make_engine(town_records_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def town_people(town_engine) -> dict[str, Person]:
    return _people(town_engine)


@pytest.fixture(scope="session")
def town_client(town_records_url) -> Iterator[TestClient]:
    """An app on the town store (as ``records_client`` on Berlin's)."""
    settings = WebSettings(max_features=5000, refresh_store=False)
    app = create_app(Settings(web=settings, store=StoreSettings(database_url=town_records_url)))
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def people(records_engine) -> dict[str, Person]:
    """viewer, coord10, coord04, admin (names made unique per session)."""
    return _people(records_engine)


def _people(records_engine: Engine) -> dict[str, Person]:
    suffix = next(_serial)
    roles = {
        "viewer": ("viewer", []),
        "coord10": ("coordinator", ["10"]),
        "coord04": ("coordinator", ["04"]),
        "admin": ("admin", []),
    }
    found = {}
    with records_engine.begin() as conn:
        for key, (role, districts) in roles.items():
            name = f"{key}-{suffix}"
            user = add_user(
                conn, name, PASSWORD, role, districts=districts, display_name=f"{key.title()} Test"
            )
            found[key] = Person(user, create_token(conn, name, "tests"))
    return found
