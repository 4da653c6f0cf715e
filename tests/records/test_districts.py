"""Rights across cities, on two generated cities in one store (no data mirror needed): both have
a district "01". A coordinator of Alpha's 01 may write in Alpha's 01 and in no district of
Beta — projects, events and profile sections alike — and a bare code that two cities share is
refused when rights are given."""

from __future__ import annotations

import os
from datetime import date

import pytest
from geodata import X0, Y0, grid, write
from pyproj import Transformer
from sqlalchemy import text

from accounts.users import AccountError, User, add_user, check_districts
from records.errors import Forbidden
from records.events import EventInput, save_event
from records.projects import ProjectInput, create_project
from records.sections import SectionInput, save_section
from records.settings import RecordSettings

LIMITS = RecordSettings()
BETA_DX = 20_000  # Beta lies 20 km east of Alpha
TO_WGS = Transformer.from_crs(25833, 4326, always_xy=True)


def _load_city(engine, tmp_path, settings, system: str, city: str, districts, dx: float):
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    plr = [f"{d}{n}" for d in districts for n in ("01", "02")]
    for level, frame in (
        ("bezirk", grid(list(districts), size=2000, columns=2)),
        ("plr", grid(plr, size=1000, columns=4)),
    ):
        frame = frame.set_geometry(frame.geometry.translate(dx, 0))
        ingest_file(
            engine,
            str(write(frame, tmp_path / f"{system}-{level}.gpkg")),
            FileLevel(
                level=level,
                fields=FieldMap("code", "name"),
                system=system,
                city=city,
                system_name=city,
            ),
            settings,
            srid=25833,
        )


@pytest.fixture
def cities(engine, tmp_path, data_settings):
    _load_city(engine, tmp_path, data_settings, "alpha", "Alpha", ("01", "03"), 0)
    _load_city(engine, tmp_path, data_settings, "beta", "Beta", ("01", "02"), BETA_DX)
    return engine


def _square(dx: float) -> dict:
    """A small square in the first Planungsraum (district 01) of the city at ``dx``."""
    corners = [(300, 300), (700, 300), (700, 700), (300, 700), (300, 300)]
    ring = [list(TO_WGS.transform(X0 + dx + x, Y0 + y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [ring]}


def _project(dx: float) -> ProjectInput:
    return ProjectInput(
        title="Quartiersgarten", status="Idee", topic="Nachbarschaft", geometry=_square(dx)
    )


def _region_id(conn, system: str, code: str) -> int:
    return conn.execute(
        text(
            "SELECT r.id FROM regions r JOIN region_systems s ON s.id = r.system_id "
            "WHERE s.key = :s AND r.code = :c"
        ),
        {"s": system, "c": code},
    ).scalar_one()


def test_a_bare_code_two_cities_share_is_refused_and_one_city_code_is_named(cities):
    with cities.connect() as conn:
        with pytest.raises(AccountError, match=r"'01' is in several cities \(Alpha, Beta\)"):
            check_districts(conn, ["01"])
        assert check_districts(conn, ["03"]) == ["alpha:03"]
        assert check_districts(conn, ["beta:01", "alpha:01"]) == ["alpha:01", "beta:01"]
        with pytest.raises(AccountError, match="unknown district"):
            check_districts(conn, ["beta:03"])


def test_a_coordinator_of_one_city_may_not_write_in_the_same_code_of_another(cities):
    with cities.begin() as conn:
        coordinator = add_user(
            conn, "koord-alpha", "ein-gutes-passwort", "coordinator", districts=["alpha:01"]
        )
    assert coordinator.districts == ("alpha:01",)

    with cities.begin() as conn:
        state, _ = create_project(conn, _project(0), coordinator, 25833, LIMITS)
    assert state["districts"] == ["alpha:01"]
    with cities.begin() as conn, pytest.raises(Forbidden, match="beta:01"):
        create_project(conn, _project(BETA_DX), coordinator, 25833, LIMITS)

    event = {"type": "Runder Tisch", "title": "Runde", "held_on": date(2030, 5, 6)}
    with cities.begin() as conn:
        saved = save_event(
            conn,
            EventInput(**event, system="alpha", regions=["0101"]),
            coordinator,
            25833,
            LIMITS,
        )
        assert saved["districts"] == ["alpha:01"]
    with cities.begin() as conn, pytest.raises(Forbidden):
        save_event(
            conn, EventInput(**event, system="beta", regions=["0101"]), coordinator, 25833, LIMITS
        )

    with cities.begin() as conn:
        alpha, beta = _region_id(conn, "alpha", "0101"), _region_id(conn, "beta", "0101")
    with cities.begin() as conn:
        written = save_section(conn, alpha, "ziele", SectionInput(body="Ziele"), coordinator)
        assert written["districts"] == ["alpha:01"]
    with cities.begin() as conn, pytest.raises(Forbidden):
        save_section(conn, beta, "ziele", SectionInput(body="Ziele"), coordinator)
    with cities.connect() as conn:
        in_beta = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM projects WHERE 'beta:01' = ANY(districts)) + "
                "(SELECT count(*) FROM events WHERE 'beta:01' = ANY(districts)) + "
                "(SELECT count(*) FROM profile_sections WHERE region_id = :b)"
            ),
            {"b": beta},
        ).scalar_one()
    assert in_beta == 0  # nothing was written in Beta


def test_rights_in_one_system_cover_a_record_that_several_systems_cover():
    both = ["alpha:03", "alpha-old:03"]
    assert User(1, "k", "K", "coordinator", ("alpha:03",)).may_edit(both)
    assert User(1, "k", "K", "coordinator", tuple(both)).may_edit(both)
    assert not User(1, "k", "K", "coordinator", ("alpha:03",)).may_edit(["alpha:03", "alpha:01"])
    assert not User(1, "k", "K", "coordinator", ("alpha:01",)).may_edit(["beta:01"])
    assert not User(1, "k", "K", "viewer", ("alpha:01",)).may_edit(["alpha:01"])
    assert User(1, "a", "A", "admin").may_edit(["beta:01"])


def test_the_upgrade_names_the_districts_of_users_and_records_with_their_system(
    cluster, tmp_path, data_settings
):
    from conftest import SRID

    from spatial import store
    from spatial.store import make_engine, migrate

    url = store.create_database(cluster.url(), f"sz_districts_{os.getpid()}")
    try:
        migrate(url, SRID, revision="0011")
        engine = make_engine(url)
        _load_city(engine, tmp_path, data_settings, "alpha", "Alpha", ("01", "03"), 0)
        _load_city(engine, tmp_path, data_settings, "beta", "Beta", ("01", "02"), BETA_DX)
        with engine.begin() as conn:  # as stored before: bare codes
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, role, districts) "
                    "VALUES ('alt', 'Alt', 'x', 'coordinator', '{01,03}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO projects (title, status, topic, geom, districts) VALUES "
                    "('Garten', 'Idee', 'Nachbarschaft', ST_Buffer(ST_SetSRID("
                    "ST_MakePoint(:x, :y), 25833), 100), '{01}')"
                ),
                {"x": X0 + BETA_DX + 500, "y": Y0 + 500},
            )
        engine.dispose()
        migrate(url, SRID)
        engine = make_engine(url)
        with engine.connect() as conn:
            user = conn.execute(text("SELECT districts FROM users")).scalar_one()
            project = conn.execute(text("SELECT districts FROM projects")).scalar_one()
        engine.dispose()
        assert user == ["alpha:01", "alpha:03", "beta:01"]  # no right lost or gained
        assert project == ["beta:01"]  # found again from where the project lies
    finally:
        store.drop_database(url)
