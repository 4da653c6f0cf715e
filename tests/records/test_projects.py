"""Projects in the store: regions at every level with shares, history, optimistic concurrency
(20 parallel writers), bad input refused with nothing written, consent withdrawal."""

from __future__ import annotations

import threading

import pytest
from people import CHARLOTTENBURG, project_body
from pydantic import ValidationError
from sqlalchemy import text

from records.contacts import ContactInput, add_contact, withdraw_consent
from records.errors import Forbidden, InvalidRecord, VersionConflict
from records.history import history_of
from records.projects import ProjectInput, ProjectUpdate, create_project, update_project
from records.settings import RecordSettings

pytestmark = pytest.mark.mirror
SRID = 25833
LIMITS = RecordSettings()


def _create(engine, person, **overrides):
    with engine.begin() as conn:
        state, notes = create_project(
            conn, ProjectInput(**project_body(**overrides)), person.user, SRID, LIMITS
        )
    return state, notes


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("projects", "project_regions", "history", "contacts")
        }


def test_regions_at_every_level_with_shares(records_engine, people):
    state, notes = _create(records_engine, people["coord10"])
    assert state["districts"] == ["berlin-lor-2019:10", "berlin-lor-2021:10"] and notes == []
    with records_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.key AS system, l.key AS level, r.code, pr.share FROM project_regions pr "
                "JOIN regions r ON r.id = pr.region_id JOIN region_levels l ON l.id = pr.level_id "
                "JOIN region_systems s ON s.id = l.system_id WHERE pr.project_id = :id"
            ),
            {"id": state["id"]},
        ).all()
    by_level: dict[tuple, float] = {}
    for row in rows:
        by_level[(row.system, row.level)] = by_level.get((row.system, row.level), 0) + row.share
    # every level of both LOR versions, the shares of each level adding up to the whole area
    assert set(by_level) == {
        ("berlin-lor-2021", lvl) for lvl in ("bezirk", "pgr", "bzr", "plr")
    } | {("berlin-lor-2019", lvl) for lvl in ("bezirk", "plr")}
    assert all(total == pytest.approx(1, abs=1e-6) for total in by_level.values())
    assert ("berlin-lor-2021", "bzr", "101001") in {(r.system, r.level, r.code) for r in rows}


def test_moving_a_project_moves_its_regions(records_engine, people):
    state, _ = _create(records_engine, people["admin"])
    moved = ProjectUpdate(**project_body(geometry=CHARLOTTENBURG), version=1)
    with records_engine.begin() as conn:
        after, _ = update_project(conn, state["id"], moved, people["admin"].user, SRID, LIMITS)
        codes = set(
            conn.execute(
                text(
                    "SELECT r.code FROM project_regions pr JOIN regions r ON r.id = pr.region_id "
                    "JOIN region_levels l ON l.id = pr.level_id WHERE pr.project_id = :id "
                    "AND l.key = 'bezirk'"
                ),
                {"id": state["id"]},
            ).scalars()
        )
    assert after["version"] == 2 and codes == {"04"}
    assert after["districts"] == ["berlin-lor-2019:04", "berlin-lor-2021:04"]


def test_self_intersection_is_repaired_and_reported(records_engine, people):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [13.560, 52.562],
                [13.570, 52.570],
                [13.570, 52.562],
                [13.560, 52.570],
                [13.560, 52.562],
            ]
        ],
    }
    state, notes = _create(records_engine, people["coord10"], geometry=bowtie)
    assert notes and "Self-intersection" in notes[0]
    assert state["geometry"]["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    ("geometry", "crs", "fragment"),
    [
        ({"type": "Polygon", "coordinates": []}, None, "empty"),
        ({"type": "Point", "coordinates": [52.566, 13.565]}, None, "latitude, longitude order"),
        ({"type": "Point", "coordinates": [402000, 5826000]}, None, "projected metres"),
        ({"type": "Point", "coordinates": [11.58, 48.14]}, None, "outside the city"),
        ({"type": "Point", "coordinates": [13.56, 52.56]}, "EPSG:9999", "unsupported crs"),
        ({"type": "Point", "coordinates": ["x"]}, None, "not a valid GeoJSON"),
        (
            {"type": "Polygon", "coordinates": [[[1, 2], [3]]]},
            None,
            "a closed ring needs at least 4",
        ),
        ({"type": "FeatureCollection", "features": []}, None, "no features"),
    ],
)
def test_bad_geometry_is_refused_and_nothing_written(
    records_engine, people, geometry, crs, fragment
):
    before = _counts(records_engine)
    with pytest.raises(InvalidRecord, match=fragment):
        _create(records_engine, people["admin"], geometry=geometry, crs=crs)
    assert _counts(records_engine) == before


def test_too_many_vertices_refused(records_engine, people):
    ring = [[13.56 + 1e-7 * i, 52.56] for i in range(LIMITS.max_vertices + 1)]
    line = {"type": "LineString", "coordinates": ring}
    with pytest.raises(InvalidRecord, match="more than the limit"):
        _create(records_engine, people["admin"], geometry=line)


def test_projected_input_with_its_crs_is_accepted(records_engine, people):
    state, _ = _create(
        records_engine,
        people["coord10"],
        geometry={"type": "Point", "coordinates": [402034.0, 5823750.0]},
        crs="EPSG:25833",
    )
    lon, lat = state["geometry"]["coordinates"]
    assert 13.5 < lon < 13.7 and 52.5 < lat < 52.6


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"status": "fertig"}, "unknown status"),
        ({"topic": "Raumfahrt"}, "unknown topic"),
        ({"start_date": "2026-05-01", "end_date": "2026-04-30"}, "lies before the start date"),
        ({"title": "   "}, "blank"),
        ({"participation_url": "javascript:alert(1)"}, "https://"),
    ],
)
def test_bad_fields_are_refused(overrides, fragment):
    with pytest.raises(ValidationError, match=fragment):
        ProjectInput(**project_body(**overrides))


def test_coordinator_of_another_district_is_refused(records_engine, people):
    before = _counts(records_engine)
    with pytest.raises(Forbidden, match="district"):
        _create(records_engine, people["coord04"])
    with pytest.raises(Forbidden, match="viewer"):
        _create(records_engine, people["viewer"])
    assert _counts(records_engine) == before


def test_twenty_parallel_updates_one_wins(records_engine, people):
    state, _ = _create(records_engine, people["coord10"])
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        data = ProjectUpdate(**project_body(title=f"Fassung {n}"), version=1)
        start.wait()
        try:
            with records_engine.begin() as conn:
                update_project(conn, state["id"], data, people["coord10"].user, SRID, LIMITS)
            result = "won"
        except VersionConflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 19 + ["won"]
    with records_engine.connect() as conn:
        entries = history_of(conn, "project", state["id"])
        version = conn.execute(
            text("SELECT version FROM projects WHERE id = :id"), {"id": state["id"]}
        ).scalar_one()
    assert [e.action for e in entries] == ["create", "update"]
    assert version == 2


def test_conflict_says_what_changed_and_keeps_the_winner(records_engine, people):
    state, _ = _create(records_engine, people["coord10"])
    first = ProjectUpdate(**project_body(title="Erste Änderung", status="laufend"), version=1)
    second = ProjectUpdate(**project_body(title="Zweite Änderung"), version=1)
    with records_engine.begin() as conn:
        update_project(conn, state["id"], first, people["coord10"].user, SRID, LIMITS)
    with pytest.raises(VersionConflict) as caught, records_engine.begin() as conn:
        update_project(conn, state["id"], second, people["admin"].user, SRID, LIMITS)
    assert "since version 1" in str(caught.value) and "version 2" in str(caught.value)
    assert caught.value.changes["title"] == {
        "before": "Nachbarschaftsgarten",
        "now": "Erste Änderung",
    }
    assert caught.value.changes["status"]["now"] == "laufend"
    with records_engine.connect() as conn:
        title = conn.execute(
            text("SELECT title FROM projects WHERE id = :id"), {"id": state["id"]}
        ).scalar_one()
    assert title == "Erste Änderung"


def test_consent_withdrawal_erases_personal_fields_everywhere(records_engine, people):
    state, _ = _create(records_engine, people["coord10"])
    contact = ContactInput(
        name="Erika Mustermann",
        organisation="Stadtteilzentrum Nord",
        email="erika@example.org",
        phone="030 1234567",
        consent_date="2025-03-01",
        consent_purpose="Rückfragen zum Projekt",
    )
    coordinator = people["coord10"].user
    with records_engine.begin() as conn:
        added = add_contact(conn, state["id"], contact, coordinator)
        update_project(
            conn,
            state["id"],
            ProjectUpdate(**project_body(title="Mit Kontakt"), version=1),
            coordinator,
            SRID,
            LIMITS,
        )
    personal = ("Erika", "Stadtteilzentrum Nord", "erika@example.org", "1234567")
    with records_engine.connect() as conn:
        stored = (
            conn.execute(
                text("SELECT before::text || after::text FROM history WHERE entity_id = :id"),
                {"id": state["id"]},
            )
            .scalars()
            .all()
        )
    assert any("erika@example.org" in (s or "") for s in stored)  # it was there
    with records_engine.begin() as conn:
        assert withdraw_consent(conn, added["id"], coordinator) >= 2
    with records_engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM contacts WHERE id = :id"), {"id": added["id"]}).one()
        history = (
            conn.execute(
                text(
                    "SELECT coalesce(before::text, '') || coalesce(after::text, '') FROM history "
                    "WHERE entity = 'project' AND entity_id = :id"
                ),
                {"id": state["id"]},
            )
            .scalars()
            .all()
        )
    assert (row.name, row.organisation, row.email, row.phone) == (None, None, None, None)
    assert row.withdrawn_at is not None and row.consent_purpose == "Rückfragen zum Projekt"
    for text_of_entry in history:
        for fragment in personal:
            assert fragment not in text_of_entry
