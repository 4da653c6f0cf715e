"""Participation events: placed by chosen regions or a location, counted per region, level and
year into catalog indicators that the analysis layer computes like any statistic."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from layers.indicators import indicator_table
from layers.materialize import refresh_store
from records.errors import Forbidden, InvalidRecord
from records.events import EventInput, EventUpdate, delete_event, save_event
from records.settings import RecordSettings

pytestmark = pytest.mark.mirror
SYSTEM = "berlin-lor-2021"


def _event(**overrides) -> EventInput:
    body = {
        "type": "Sozialraumgespräch",
        "title": "Sozialraumgespräch Marzahn Nord",
        "held_on": "2031-03-04",
        "participants": 24,
        "groups": ["Verwaltung", "freie Träger"],
        "topics": ["Kinder und Jugend"],
        "system": SYSTEM,
        "regions": ["101001"],
    }
    body.update(overrides)
    return EventInput(**body)


def _values(conn, level: str, key: str, year: int) -> dict[str, float]:
    table = indicator_table(conn, SYSTEM, level, key, date(year, 12, 31))
    return {r.code: r.value for r in table.rows.itertuples() if r.value}


def test_events_become_indicators_per_region_level_and_year(records_engine, people):
    coordinator = people["coord10"].user
    limits = RecordSettings()
    with records_engine.begin() as conn:
        save_event(conn, _event(), coordinator, 25833, limits)
        save_event(conn, _event(held_on="2031-09-01", participants=30), coordinator, 25833, limits)
        workshop = save_event(
            conn,
            _event(
                type="Workshop",
                regions=[],
                system=None,
                participants=11,
                location={"type": "Point", "coordinates": [13.5535, 52.5676]},
            ),
            coordinator,
            25833,
            limits,
        )
    with records_engine.connect() as conn:
        talks = _values(conn, "bzr", "participation_events_sozialraumgespraech", 2031)
        everything = _values(conn, "bezirk", "participation_events", 2031)
        people_count = _values(conn, "bzr", "participation_participants", 2031)
        workshops_plr = _values(conn, "plr", "participation_events_workshop", 2031)
    assert talks == {"101001": 2}
    assert everything == {"10": 3}
    assert people_count == {"101001": 24 + 30 + 11}
    assert workshops_plr == {"10100101": 1}  # derived from the location
    with records_engine.begin() as conn:
        delete_event(conn, workshop["id"], 1, coordinator)
    with records_engine.connect() as conn:
        assert _values(conn, "bezirk", "participation_events", 2031) == {"10": 2}


def test_bad_events_are_refused(records_engine, people):
    with pytest.raises(ValidationError, match="unknown event type"):
        _event(type="Kaffeeklatsch")
    with pytest.raises(ValidationError, match="regions or its location"):
        _event(regions=[])
    with pytest.raises(ValidationError, match="unknown group"):
        _event(groups=["Aliens"])
    with records_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    with pytest.raises(InvalidRecord, match="unknown region code"), records_engine.begin() as c:
        save_event(c, _event(regions=["999999"]), people["coord10"].user, 25833, RecordSettings())
    with pytest.raises(Forbidden), records_engine.begin() as conn:
        save_event(conn, _event(), people["coord04"].user, 25833, RecordSettings())
    with records_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == before


def _runs(conn, year: int) -> dict[str, int]:
    rows = conn.execute(
        text(
            "SELECT r.code, v.run_id FROM statistic_values v JOIN regions r ON r.id = v.region_id "
            "JOIN indicators i ON i.id = v.indicator_id WHERE i.key = 'participation_events' "
            "AND v.period = :p"
        ),
        {"p": date(year, 12, 31)},
    ).all()
    return dict(rows)


def _stored_tables(conn, key: str) -> set[tuple]:
    """(period, computed_at, version) of the stored tables of ``key`` in the events' system."""
    return set(
        conn.execute(
            text(
                "SELECT t.period, t.computed_at, t.version FROM indicator_tables t "
                "JOIN indicators i ON i.id = t.indicator_id JOIN region_levels l "
                "ON l.id = t.level_id JOIN region_systems s ON s.id = l.system_id "
                "WHERE i.key = :k AND s.key = :s"
            ),
            {"k": key, "s": SYSTEM},
        ).all()
    )


def _stored_versions(conn, key: str) -> set[int]:
    return {version for _, _, version in _stored_tables(conn, key)}


def test_an_event_save_touches_its_regions_and_years_only(records_engine, people):
    coordinator = people["coord10"].user
    limits = RecordSettings()
    with records_engine.begin() as conn:
        save_event(conn, _event(held_on="2033-05-05"), coordinator, 25833, limits)
        later = save_event(conn, _event(held_on="2034-05-05"), coordinator, 25833, limits)
        refresh_store(conn, keys=["participation_events"])
    with records_engine.connect() as conn:
        population = _stored_versions(conn, "inhabitants")
        events = _stored_tables(conn, "participation_events")
        year_before, year_of = _runs(conn, 2033), _runs(conn, 2034)
    assert population, "the population tables are in the indicator store"
    with records_engine.begin() as conn:  # moved to another Bezirksregion of the same year
        save_event(
            conn,
            EventUpdate(
                **_event(held_on="2034-05-05", regions=["101002"]).model_dump(),
                version=later["version"],
            ),
            coordinator,
            25833,
            limits,
            later["id"],
        )
    with records_engine.connect() as conn:
        assert _runs(conn, 2033) == year_before  # another year: not rewritten
        after = _runs(conn, 2034)
        changed = {code for code, run in after.items() if run != year_of[code]}
        assert changed and changed <= {"101001", "101002", "1010", "10"} | {
            c for c in after if c.startswith(("101001", "101002"))
        }
        assert _stored_versions(conn, "inhabitants") == population  # the store kept them
        kept = _stored_tables(conn, "participation_events")
        assert _values(conn, "bzr", "participation_events", 2034) == {"101002": 1}
    # the tables of the other year are kept as they were computed, those of the year go
    assert {p.year for p, _, _ in events} >= {2033, 2034}
    assert {(p, at) for p, at, _ in events if p.year != 2034} == {(p, at) for p, at, _ in kept}
