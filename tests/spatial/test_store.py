"""The schema the migrations create, and the store's guards."""

from __future__ import annotations

import pytest
from conftest import SRID
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from spatial.settings import StoreSettings
from spatial.store import StoreError, current_revision, head_revision, migrate, normalise_url


def test_region_geometry_is_stored_without_compression(engine):
    """pglz compression of coordinates was most of the time of writing a large level."""
    with engine.connect() as conn:
        storage = conn.execute(
            text(
                "SELECT attstorage FROM pg_attribute "
                "WHERE attrelid = 'regions'::regclass AND attname = 'geom'"
            )
        ).scalar_one()
    assert storage == "e"  # EXTERNAL: out of line, uncompressed


def test_schema(engine, db_url):
    assert current_revision(db_url) == head_revision() == "0017"
    with engine.connect() as conn:
        indexes = dict(
            conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'regions'")
            ).all()
        )
        columns = dict(
            conn.execute(
                text(
                    "SELECT f_table_name || '.' || f_geometry_column, type || ':' || srid "
                    "FROM geometry_columns"
                )
            ).all()
        )
        facility_indexes = (
            conn.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'facilities'"))
            .scalars()
            .all()
        )
        srid = conn.execute(text("SELECT value FROM store_meta WHERE key = 'srid'")).scalar()
        crosswalk_indexes = (
            conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'crosswalk_pieces'")
            )
            .scalars()
            .all()
        )
    assert "crosswalk_pieces_target" in crosswalk_indexes
    with engine.connect() as conn:
        section_key = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'profile_sections_region_key'")
        ).scalar_one()
    assert section_key.startswith("CREATE UNIQUE INDEX")
    assert "USING gist (geom)" in indexes["regions_geom_gist"]
    assert "USING gist (geom_display)" in indexes["regions_geom_display_gist"]
    assert any("UNIQUE" in d and "(system_id, level_id, code)" in d for d in indexes.values())
    assert columns["regions.geom"] == f"MULTIPOLYGON:{SRID}"
    assert columns["regions.geom_display"] == "MULTIPOLYGON:4326"
    assert columns["region_tile_shapes.geom"] == "MULTIPOLYGON:3857"
    assert columns["facilities.geom"] == f"POINT:{SRID}"
    assert any("USING gist (geom)" in d for d in facility_indexes)
    assert srid == str(SRID)
    assert columns["projects.geom"] == f"GEOMETRY:{SRID}"
    assert columns["events.geom"] == f"POINT:{SRID}"


def test_record_tables_guard_themselves(engine):
    """The database itself refuses what the records layer never writes: unknown roles, a
    withdrawn contact that keeps personal data, end before start."""
    with engine.begin() as conn:
        user_id = conn.execute(
            text(
                "INSERT INTO users (username, display_name, password_hash, role) "
                "VALUES ('pruef', 'Prüf', 'x', 'viewer') RETURNING id"
            )
        ).scalar_one()
    bad = [
        "INSERT INTO users (username, display_name, password_hash, role) "
        "VALUES ('boss', 'B', 'x', 'king')",
        "INSERT INTO projects (title, status, topic, geom, start_date, end_date) VALUES "
        "('t', 'Idee', 'Bildung', ST_SetSRID(ST_MakePoint(400000, 5820000), 25833), "
        "'2025-02-01', '2025-01-01')",
    ]
    for statement in bad:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.begin() as conn:
        project_id = conn.execute(
            text(
                "INSERT INTO projects (title, status, topic, geom) VALUES ('t', 'Idee', "
                "'Bildung', ST_SetSRID(ST_MakePoint(400000, 5820000), 25833)) RETURNING id"
            )
        ).scalar_one()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (project_id, name, consent_date, consent_purpose, "
                "consent_recorded_by, withdrawn_at) VALUES (:p, 'Noch da', '2025-01-01', "
                "'x', :u, now())"
            ),
            {"p": project_id, "u": user_id},
        )


def test_unique_code_per_level(engine):
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ingest_runs (kind, source, checksum, started_at, status) "
                "VALUES ('t', 't', 'x', now(), 'ok')"
            )
        )
        conn.execute(text("INSERT INTO region_systems (key, name, city) VALUES ('s', 's', 'c')"))
        conn.execute(
            text(
                "INSERT INTO region_levels (system_id, key, name, rank) "
                "SELECT id, 'l', 'l', 0 FROM region_systems"
            )
        )
    insert = text(
        "INSERT INTO regions (system_id, level_id, code, name, geom, area_m2, run_id) "
        "SELECT s.id, l.id, '01', 'x', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, :srid)), 1, "
        "(SELECT max(id) FROM ingest_runs) FROM region_systems s JOIN region_levels l "
        "ON l.system_id = s.id"
    )
    with engine.begin() as conn:
        conn.execute(insert, {"srid": SRID})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"srid": SRID})


def test_other_storage_crs_is_refused(db_url):
    with pytest.raises(
        StoreError, match="keeps geometry in EPSG:25833 but SOZIALRAUM_SRID is 3035"
    ):
        migrate(db_url, 3035)


def test_settings_validate_the_storage_crs():
    with pytest.raises(ValueError, match="not a projected CRS in metres"):
        StoreSettings(srid=4326)
    assert StoreSettings(srid=3035).srid == 3035


def test_url_schemes_are_normalised():
    assert normalise_url("postgres://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    with pytest.raises(StoreError, match="must point to PostgreSQL"):
        normalise_url("mysql://u@h/db")
