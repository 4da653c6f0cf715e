"""Written profile sections in the store: only the region's district may write, every save is
a version in the history, outdated writes and bad input are refused with nothing written,
earlier versions can be restored, anonymous readers get public sections only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from records.errors import Forbidden, InvalidRecord, RecordNotFound, VersionConflict
from records.history import history_of
from records.sections import (
    SectionInput,
    delete_section,
    district_of,
    restore_section,
    save_section,
    sections_of,
)

pytestmark = pytest.mark.mirror


def _region_id(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT r.id FROM regions r JOIN region_systems s ON s.id = r.system_id "
                "WHERE s.key = 'berlin-lor-2021' AND r.code = :c"
            ),
            {"c": code},
        ).scalar_one()


def _counts(engine, region_id: int) -> tuple[int, int]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM profile_sections WHERE region_id = :r), "
                "(SELECT count(*) FROM history WHERE entity = 'section')"
            ),
            {"r": region_id},
        ).one()


def _save(engine, region_id, key, person, **fields):
    with engine.begin() as conn:
        return save_section(conn, region_id, key, SectionInput(**fields), person.user)


def test_only_the_districts_coordinators_write_and_each_save_is_a_version(records_engine, people):
    region = _region_id(records_engine, "101002")  # Marzahn Mitte, Bezirk 10
    with records_engine.connect() as conn:
        assert district_of(conn, region) == ["berlin-lor-2021:10"]
    before = _counts(records_engine, region)
    for person in ("coord04", "viewer"):
        with pytest.raises(Forbidden) as refused:
            _save(records_engine, region, "ziele", people[person], body="Fremder Text")
        assert _counts(records_engine, region) == before
    assert str(refused.value) == "the role 'viewer' may not write this profile"
    with pytest.raises(Forbidden, match=r"district\(s\) berlin-lor-2021:10, not assigned to you"):
        _save(records_engine, region, "ziele", people["coord04"], body="x")

    first = _save(records_engine, region, "ziele", people["coord10"], body="Erste Fassung")
    assert (first["version"], first["title"], first["public"]) == (1, "Ziele und Strategien", False)
    second = _save(
        records_engine, region, "ziele", people["coord10"], body="Zweite Fassung", version=1
    )
    assert second["version"] == 2 and second["body"] == "Zweite Fassung"
    with records_engine.connect() as conn:
        entries = history_of(conn, "section", first["id"])
    assert [(e.version, e.action) for e in entries] == [(1, "create"), (2, "update")]
    assert {e.user for e in entries} == {"Coord10 Test"}
    assert entries[1].before["body"] == "Erste Fassung"
    assert entries[1].changed_fields() == ["body", "version"]

    # an admin may write anywhere
    third = _save(records_engine, region, "ziele", people["admin"], body="Admin", version=2)
    assert third["version"] == 3


def test_outdated_and_bad_writes_change_nothing(records_engine, people):
    region = _region_id(records_engine, "101003")
    coord = people["coord10"]
    state = _save(records_engine, region, "handlungsbedarfe", coord, body="Stand A")
    before = _counts(records_engine, region)
    with pytest.raises(VersionConflict, match="since version 0: it is at version 1"):
        _save(records_engine, region, "handlungsbedarfe", coord, body="B", version=0)
    with pytest.raises(RecordNotFound, match=r"a profile has no section 'gibt-es-nicht'"):
        _save(records_engine, region, "gibt-es-nicht", coord, body="B")
    with pytest.raises(InvalidRecord, match="a free section needs a title"):
        _save(records_engine, region, None, coord, body="ohne Überschrift")
    with pytest.raises(RecordNotFound, match="no section 'frei-99'"):
        _save(records_engine, region, "frei-99", coord, title="X", body="B", version=1)
    with pytest.raises(ValidationError):
        SectionInput(body="x" * 100_001)
    with pytest.raises(ValidationError):
        SectionInput(body="x", unknown="field")
    assert _counts(records_engine, region) == before
    with records_engine.connect() as conn:
        assert history_of(conn, "section", state["id"])[-1].version == 1


def test_restore_delete_and_what_anonymous_readers_see(records_engine, people):
    region = _region_id(records_engine, "102004")
    coord = people["coord10"]
    public = _save(records_engine, region, "ressourcen", coord, body="Öffentlich", public=True)
    free = _save(records_engine, region, None, coord, title="Wohnen", body="Intern v1")
    assert free["key"] == "frei-1"
    _save(records_engine, region, "frei-1", coord, title="Wohnen", body="Intern v2", version=1)
    with records_engine.begin() as conn:
        restored = restore_section(conn, free["id"], 1, 2, coord.user)
    assert (restored["version"], restored["body"]) == (3, "Intern v1")
    with records_engine.connect() as conn:
        assert [e.action for e in history_of(conn, "section", free["id"])][-1] == "restore"
        assert [s["key"] for s in sections_of(conn, region, public_only=True)] == ["ressourcen"]
        assert [s["key"] for s in sections_of(conn, region, public_only=False)] == [
            "ressourcen",
            "frei-1",
        ]
    with records_engine.begin() as conn, pytest.raises(Forbidden):
        delete_section(conn, public["id"], 1, people["coord04"].user)
    with records_engine.begin() as conn:
        delete_section(conn, public["id"], 1, coord.user)
    with records_engine.connect() as conn:
        assert [s["key"] for s in sections_of(conn, region, public_only=False)] == ["frei-1"]
    with records_engine.begin() as conn:  # deleted sections come back by restoring
        back = restore_section(conn, public["id"], 1, 2, coord.user)
    assert (back["version"], back["body"], back["deleted"]) == (3, "Öffentlich", False)
