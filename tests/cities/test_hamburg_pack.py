"""Hamburg from its raw published files and only its city pack: 104 Stadtteile with generated
codes, the profile units (Stadtteile and merged units) and 7 Bezirke from the key table, the
Stadtteil-Profile values with their German number forms, totals and credits."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from layers.credits import indicator_attribution
from layers.indicators import indicator_table
from layers.levels import get_level
from spatial.store import make_engine

SYSTEM = "hamburg-stadtteile"
PERIOD = date(2022, 12, 31)
BEZIRK_POPULATION = {
    "Altona": 280_034,
    "Bergedorf": 132_901,
    "Eimsbüttel": 274_901,
    "Hamburg-Mitte": 302_124,
    "Hamburg-Nord": 322_564,
    "Harburg": 174_369,
    "Wandsbek": 453_086,
}
# dissolved areas of the Bezirke (km², measured in EPSG:25832), from the data README
BEZIRK_AREA = {
    "Altona": 77.85,
    "Bergedorf": 154.62,
    "Eimsbüttel": 49.77,
    "Hamburg-Mitte": 142.16,
    "Hamburg-Nord": 57.73,
    "Harburg": 125.02,
    "Wandsbek": 147.43,
}

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def conn(hamburg_url):
    engine = make_engine(hamburg_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _level_rows(conn, level: str) -> list:
    return conn.execute(
        text(
            "SELECT r.code, r.name, r.parent_code, r.area_m2 FROM regions r "
            "JOIN region_levels l ON l.id = r.level_id JOIN region_systems s "
            "ON s.id = r.system_id WHERE s.key = :s AND l.key = :l ORDER BY r.code"
        ),
        {"s": SYSTEM, "l": level},
    ).all()


def test_levels_from_the_key_table(conn):
    stadtteile, units, bezirke = (_level_rows(conn, k) for k in ("stadtteil", "einheit", "bezirk"))
    assert len(stadtteile) == 104 and len(bezirke) == 7
    # 99 units of the profile table and Neuwerk, which has no row in it
    assert len(units) == 100
    by_code = {r.code: r for r in units}
    merged = by_code["waltershof-und-finkenwerder"]
    assert merged.name == "Waltershof und Finkenwerder" and merged.parent_code == "hamburg-mitte"
    members = sorted(r.name for r in stadtteile if r.parent_code == merged.code)
    assert members == ["Finkenwerder", "Waltershof"]
    # the geometry has no blank after the dot; the stored name stays as written
    pauli = next(r for r in stadtteile if r.code == "st-pauli")
    assert pauli.name == "St.Pauli" and pauli.parent_code == "st-pauli"
    assert by_code["st-pauli"].name == "St. Pauli"
    # Harburg is a Bezirk, a unit and a Stadtteil: one code per level, told apart by level
    assert {"harburg"} <= {r.code for r in bezirke} & {r.code for r in stadtteile}
    assert all(r.parent_code for r in stadtteile) and all(r.parent_code for r in units)
    assert all(r.parent_code is None for r in bezirke)


def test_areas_in_the_official_crs(conn):
    bezirke = {r.name: r.area_m2 / 1e6 for r in _level_rows(conn, "bezirk")}
    for name, area in BEZIRK_AREA.items():
        assert bezirke[name] == pytest.approx(area, abs=0.01), name
    measured = conn.execute(
        text(
            "SELECT sum(ST_Area(ST_Transform(geom, 25832))) / 1e6, sum(area_m2) / 1e6, "
            "sum(ST_Area(geom)) / 1e6 FROM regions r JOIN region_levels l ON l.id = r.level_id "
            "WHERE l.key = 'stadtteil'"
        )
    ).one()
    official, stored, in_storage_crs = measured
    assert stored == pytest.approx(official, rel=5e-4)
    # the storage CRS (UTM 33) alone would be about 0.2 % too large here
    assert in_storage_crs / official - 1 > 1e-3


def test_population_adds_up_to_the_published_totals(conn):
    units = indicator_table(conn, SYSTEM, "einheit", "inhabitants", PERIOD)
    assert units.rows["value"].sum() == 1_939_979
    bezirke = indicator_table(conn, SYSTEM, "bezirk", "inhabitants", PERIOD)
    got = dict(zip(bezirke.rows["name"], bezirke.rows["value"], strict=True))
    assert got == BEZIRK_POPULATION
    assert bezirke.city_value == 1_939_979
    # Neuwerk has no row: its Bezirk is marked partial, never silently complete
    partial = dict(zip(bezirke.rows["name"], bezirke.rows["partial"], strict=True))
    assert partial["Hamburg-Mitte"] and not partial["Altona"]


def test_profile_indicators_markers_and_negatives(conn):
    level = get_level(conn, SYSTEM, "einheit")
    loaded = conn.execute(
        text(
            "SELECT i.key, count(*) FILTER (WHERE v.status = 'valid') AS valid, "
            "count(*) FILTER (WHERE v.status = 'no_data') AS missing, min(v.value) AS lowest "
            "FROM statistic_values v JOIN indicators i ON i.id = v.indicator_id "
            "JOIN regions r ON r.id = v.region_id WHERE r.level_id = :l GROUP BY i.key"
        ),
        {"l": level.id},
    ).all()
    by_key = {r.key: r for r in loaded}
    assert len(by_key) >= 12
    for key in (
        "share_sgb2_recipients",
        "share_unemployed",
        "share_children_u15_minimum_income",
        "households_with_children",
        "single_parent_households",
        "migration_balance",
    ):
        assert key in by_key, key
    # 'Wanderungs-saldo' is written '–    42' for Wohldorf-Ohlstedt
    assert by_key["migration_balance"].lowest == -42
    balance = indicator_table(conn, SYSTEM, "einheit", "migration_balance", PERIOD).rows
    negative = set(balance.loc[balance["value"] < 0, "name"])
    assert {"Sülldorf", "Wohldorf-Ohlstedt", "Cranz", "Neuallermöhe"} <= negative
    # markers '.', '-' and 'x' are no data, not zero
    assert sum(r.missing for r in loaded) > 0
    unemployed = indicator_table(conn, SYSTEM, "einheit", "share_unemployed", PERIOD).rows
    francop = unemployed.set_index("name").loc["Francop"]
    assert francop["status"] == "no_data"


def test_published_shares_exist_only_at_their_level(conn):
    from layers.errors import NotComputable

    rows = indicator_table(conn, SYSTEM, "einheit", "share_sgb2_recipients", PERIOD).rows
    assert rows.set_index("name").at["Hamburg-Altstadt", "value"] == pytest.approx(26.3)
    with pytest.raises(NotComputable) as caught:
        indicator_table(conn, SYSTEM, "bezirk", "share_sgb2_recipients", PERIOD)
    assert caught.value.published_at == "Profil-Einheit"


def test_every_value_credited_to_the_statistics_office(conn):
    system_id = get_level(conn, SYSTEM, "einheit").system_id
    for keys in (("inhabitants",), ("share_foreigners", "share_age_above_65", "households")):
        credits = indicator_attribution(conn, *keys, system_id=system_id)
        assert [c.attribution for c in credits] == ["Statistikamt Nord"], credits
        assert "Berlin" not in " ".join(c.line() for c in credits)


def test_standard_sections_are_the_citys(conn):
    from records.errors import RecordNotFound
    from records.sections import SectionInput, save_section
    from spatial.settings import DataSettings

    standard = DataSettings().packs(["hamburg"])[0].profile.sections
    assert list(standard) == ["ziele", "handlungsbedarfe", "gremien"]
    region = conn.execute(text("SELECT id FROM regions WHERE code = 'altona' LIMIT 1")).scalar()
    with pytest.raises(RecordNotFound, match="a profile has no section 'ressourcen'"):
        save_section(conn, region, "ressourcen", SectionInput(body="x", version=0), None, standard)
    written = conn.execute(text("SELECT count(*) FROM profile_sections")).scalar_one()
    assert written == 0


def test_every_loaded_indicator_has_the_offices_credit(conn):
    rows = conn.execute(
        text(
            "SELECT i.key, array_agg(DISTINCT c.attribution) AS credits FROM statistic_values v "
            "JOIN indicators i ON i.id = v.indicator_id JOIN regions r ON r.id = v.region_id "
            "LEFT JOIN indicator_credits c ON c.indicator_id = i.id AND c.system_id = r.system_id "
            "GROUP BY i.key"
        )
    ).all()
    assert len(rows) == 27
    assert {tuple(r.credits) for r in rows} == {("Statistikamt Nord",)}
