"""Loading the real Berlin LOR hierarchies from the data mirror."""

from __future__ import annotations

import pyogrio
import pytest
from conftest import SRID, table_counts
from sqlalchemy import text

from ingest.errors import IngestError
from ingest.jobs import ingest_system

pytestmark = pytest.mark.mirror


def level_counts(engine, system: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.key, count(r.id) FROM region_levels l JOIN region_systems s "
                "ON s.id = l.system_id LEFT JOIN regions r ON r.level_id = l.id "
                "WHERE s.key = :key GROUP BY l.key"
            ),
            {"key": system},
        ).all()
    return dict(rows)


def regions(engine, system: str, level: str) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.code, r.name, r.parent_code, r.area_m2, ST_SRID(r.geom) AS srid, "
                "GeometryType(r.geom) AS gtype FROM regions r "
                "JOIN region_levels l ON l.id = r.level_id "
                "JOIN region_systems s ON s.id = r.system_id WHERE s.key = :s AND l.key = :l"
            ),
            {"s": system, "l": level},
        ).all()
    return {r.code: r._asdict() for r in rows}


def test_lor_2021_levels_and_counts(berlin_engine):
    assert level_counts(berlin_engine, "berlin-lor-2021") == {
        "plr": 542,
        "bzr": 143,
        "pgr": 58,
        "bezirk": 12,
    }


def test_lor_2021_parents_nest_by_code_and_space(berlin_engine):
    plr = regions(berlin_engine, "berlin-lor-2021", "plr")
    bzr = regions(berlin_engine, "berlin-lor-2021", "bzr")
    pgr = regions(berlin_engine, "berlin-lor-2021", "pgr")
    bezirk = regions(berlin_engine, "berlin-lor-2021", "bezirk")
    assert all(r["parent_code"] == code[:6] and r["parent_code"] in bzr for code, r in plr.items())
    assert all(r["parent_code"] == code[:4] and r["parent_code"] in pgr for code, r in bzr.items())
    assert all(r["parent_code"] == code[:2] for code, r in pgr.items())
    assert set(bezirk) == {f"{i:02d}" for i in range(1, 13)}
    assert all(r["parent_code"] is None for r in bezirk.values())
    assert bezirk["10"]["name"] == "Marzahn-Hellersdorf"
    assert plr["01100101"]["name"] == "Stülerstraße"
    assert all(r["srid"] == SRID and r["gtype"] == "MULTIPOLYGON" for r in plr.values())
    # Spatially, too: every PLR lies in the BZR its code names.
    with berlin_engine.connect() as conn:
        misplaced = conn.execute(
            text(
                "SELECT count(*) FROM regions c JOIN region_levels lc ON lc.id = c.level_id "
                "JOIN regions p ON p.level_id = (SELECT id FROM region_levels WHERE key = 'bzr' "
                "AND system_id = c.system_id) AND p.code = c.parent_code "
                "WHERE lc.key = 'plr' AND NOT ST_Within(ST_PointOnSurface(c.geom), p.geom)"
            )
        ).scalar_one()
    assert misplaced == 0


def test_lor_2021_areas_match_the_source(berlin_engine, mirror):
    source = pyogrio.read_dataframe(
        mirror / "berlin/lor_2021/lor_planungsraeume_2021.shp", read_geometry=False
    )
    official = dict(zip(source["PLR_ID"], source["GROESSE_M2"].astype(float), strict=True))
    stored = regions(berlin_engine, "berlin-lor-2021", "plr")
    assert set(stored) == set(official)
    worst = max(abs(stored[c]["area_m2"] - a) / a for c, a in official.items())
    assert worst < 0.005, f"largest area deviation {worst:.4%}"
    total_km2 = sum(r["area_m2"] for r in stored.values()) / 1e6
    assert total_km2 == pytest.approx(890.67, abs=0.05)


def test_dissolved_bezirke_match_the_bezirke_file(berlin_engine, mirror):
    districts = pyogrio.read_dataframe(mirror / "berlin/districts/berlin-lor-districts.geojson")
    reference = dict(zip(districts["id"], districts.to_crs(SRID).area, strict=True))
    stored = regions(berlin_engine, "berlin-lor-2021", "bezirk")
    assert set(stored) == set(reference)
    for code, area in reference.items():
        assert stored[code]["area_m2"] == pytest.approx(area, rel=0.005), code


def test_run_report_is_stored(berlin_engine):
    with berlin_engine.connect() as conn:
        run = conn.execute(
            text(
                "SELECT status, counts, report, checksum FROM ingest_runs "
                "WHERE source = 'berlin-lor-2021'"
            )
        ).one()
    assert run.status == "ok"
    assert run.counts == {"bezirk": 12, "pgr": 58, "bzr": 143, "plr": 542}
    checks = {(c["name"], c["level"]): c for c in run.report["checks"]}
    assert all(c["ok"] for c in checks.values())
    assert {
        ("parents", "plr"),
        ("area_sums", "bzr"),
        ("overlaps", "plr"),
        ("unique_codes", "plr"),
        ("reference", "bezirk"),
    } <= set(checks)
    assert len(run.checksum) == 64


def test_rerun_is_a_noop_and_force_replaces(engine, mirror_settings):
    first = ingest_system(engine, "berlin-lor-2021", mirror_settings, srid=SRID)
    before = table_counts(engine)
    again = ingest_system(engine, "berlin-lor-2021", mirror_settings, srid=SRID)
    assert again.skipped and again.run_id == first.run_id
    assert table_counts(engine) == before
    forced = ingest_system(engine, "berlin-lor-2021", mirror_settings, srid=SRID, force=True)
    assert not forced.skipped and forced.run_id != first.run_id
    after = table_counts(engine)
    assert after["regions"] == before["regions"] == 542 + 143 + 58 + 12
    assert after["region_systems"] == 1
    assert after["ingest_runs"] == before["ingest_runs"] + 1


def test_lor_2019_duplicate_is_an_error_and_nothing_is_written(engine, mirror_settings):
    before = table_counts(engine)
    with pytest.raises(IngestError) as caught:
        ingest_system(engine, "berlin-lor-2019", mirror_settings, srid=SRID)
    message = str(caught.value)
    assert "duplicate code '06010102'" in message
    assert "feature 123" in message and "feature 204" in message
    assert "--apply-fixes" in message
    assert "\n" not in message
    assert table_counts(engine) == before


def test_lor_2019_with_fix_loads_448(berlin_engine):
    assert level_counts(berlin_engine, "berlin-lor-2019") == {"plr": 448, "bezirk": 12}
    plr = regions(berlin_engine, "berlin-lor-2019", "plr")
    assert plr["04030417"]["name"] == "Schloßstraße"
    assert plr["04030417"]["parent_code"] == "04"
    assert plr["06010102"]["parent_code"] == "06"
    bezirk = regions(berlin_engine, "berlin-lor-2019", "bezirk")
    assert bezirk["04"]["name"] == "Charlottenburg-Wilmersdorf"
