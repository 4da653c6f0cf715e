"""Hierarchies as cities publish them, built from a manifest only (generated files): codes whose
parent is not their prefix, a region that belongs directly to the level above its parent
level, a region missing from its file (filled from its parent), a level from two files with an
exclave in the neighbour's file, names without codes and a key table, a column that only looks
like a parent key, and deleting what is loaded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import SRID, assert_nothing_written
from geodata import X0, Y0, write
from shapely.geometry import box
from sqlalchemy import text

from ingest.errors import IngestError
from ingest.jobs import ingest_system
from ingest.statistics import ingest_statistics_file
from ingest.systems import delete_system, system_summaries
from layers.indicators import indicator_table
from layers.regions import children_of, find_region, parents_of
from spatial.settings import PROJECT_ROOT, DataSettings

KM = 1000


def square(col: int, row: int = 0, size: float = KM, width: float = 1) -> box:
    return box(X0 + col * size, Y0 + row * size, X0 + (col + width) * size, Y0 + (row + 1) * size)


def frame(rows: list[dict], geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=list(geoms), crs="EPSG:25833")


def settings_with(tmp_path: Path, manifest: str) -> DataSettings:
    (tmp_path / "systems").mkdir(exist_ok=True)
    (tmp_path / "systems" / "town.toml").write_text(manifest, encoding="utf-8")
    return DataSettings(
        data_mirror=tmp_path,
        manifest_dir=tmp_path / "systems",
        cities_dir=tmp_path / "no-cities",
        catalog_dir=PROJECT_ROOT / "data" / "indicators",
        cache_dir=tmp_path / "cache",
    )


HEAD = 'key = "town"\nname = "Town"\ncity = "Town"\n'


def stored_regions(engine) -> list[tuple]:
    """(level, code, name, parent code) of every stored region, coarsest level first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT l.key, r.code, r.name, r.parent_code FROM regions r JOIN region_levels l "
                "ON l.id = r.level_id ORDER BY l.rank, r.code"
            )
        ).all()
    return [tuple(r) for r in rows]


def keyed_manifest(key_table: str = "", derive: str = "") -> str:
    """Teile named in teile.geojson, their Bezirke from the key table key.csv."""
    return HEAD + (
        f'[key_table]\nkey_column = "Teil"\n{key_table}'
        '[key_table.source]\ntitle = "key"\nmirror_path = "key.csv"\n'
        '[[levels]]\nkey = "bezirk"\nname = "Bezirk"\n'
        f'derive = {{ from_level = "teil", by = "key_table", column = "Bezirk"{derive} }}\n'
        + level("teil", "teile.geojson", 'codes = "generated"\nname_field = "Name"\n')
    )


def level(key: str, file: str, extra: str = "") -> str:
    return (
        f'[[levels]]\nkey = "{key}"\nname = "{key.title()}"\n{extra}'
        f'[levels.source]\ntitle = "{key}"\nmirror_path = "{file}"\n'
    )


@pytest.fixture
def skipping(engine, tmp_path):
    """Bezirk A (two squares) and B; Ortsteil A1 in A; Stadtteile s1 in A1, s2 directly in A
    (no Ortsteil), s3 in B: parents by field, codes not prefixes of each other."""
    write(
        frame(
            [{"nr": "A", "name": "Ost"}, {"nr": "B", "name": "West"}],
            [square(0, width=2), square(2)],
        ),
        tmp_path / "bezirk.gpkg",
    )
    write(frame([{"nr": "X7", "name": "Eins", "bez": "A"}], [square(0)]), tmp_path / "ot.gpkg")
    write(
        frame(
            [
                {"nr": "101", "name": "s1", "ot": "X7", "bezirk_id": "zz"},
                {"nr": "102", "name": "s2", "ot": "A", "bezirk_id": "zz"},
                {"nr": "103", "name": "s3", "ot": "B", "bezirk_id": "zz"},
            ],
            [square(0), square(1), square(2)],
        ),
        tmp_path / "st.gpkg",
    )
    manifest = HEAD + (
        level("bezirk", "bezirk.gpkg", 'code_field = "nr"\nname_field = "name"\n')
        + level(
            "ortsteil", "ot.gpkg", 'code_field = "nr"\nname_field = "name"\nparent_field = "bez"\n'
        )
        # 'bezirk_id' only looks like a parent key: the manifest names the real one
        + level(
            "stadtteil",
            "st.gpkg",
            'code_field = "nr"\nname_field = "name"\nparent_field = "ot"\nparent_by = "field"\n',
        )
    )
    settings = settings_with(tmp_path, manifest)
    result = ingest_system(engine, "town", settings, srid=SRID)
    table = tmp_path / "ew.csv"
    table.write_text("Nr;EW\n101;10\n102;20\n103;30\n", encoding="utf-8")
    ingest_statistics_file(
        engine,
        str(table),
        settings,
        system="town",
        level="stadtteil",
        code_column="Nr",
        columns={"EW": "inhabitants"},
        period=date(2024, 12, 31),
    )
    return engine, result


def test_a_region_belonging_to_the_level_above_its_parent_level(skipping):
    engine, result = skipping
    parents = next(c for c in result.checks if c.name == "parents" and c.level == "stadtteil")
    assert parents.ok and "2 belong directly to a coarser level (e.g. 102 → A)" in parents.detail
    with engine.connect() as conn:
        bezirke = indicator_table(conn, "town", "bezirk", "inhabitants", date(2024, 12, 31))
        ortsteile = indicator_table(conn, "town", "ortsteil", "inhabitants", date(2024, 12, 31))
        got = dict(zip(bezirke.rows["code"], bezirke.rows["value"], strict=True))
        assert got == {"A": 30, "B": 30} and bezirke.city_value == 60
        assert dict(zip(ortsteile.rows["code"], ortsteile.rows["value"], strict=True)) == {"X7": 10}
        s2 = find_region(conn, "town", "102", "stadtteil")
        assert [p.code for p in parents_of(conn, s2)] == ["A"]
        a = find_region(conn, "town", "A", "bezirk")
        assert [(c["code"], c["level"]) for c in children_of(conn, a)] == [
            ("X7", "ortsteil"),
            ("102", "stadtteil"),
        ]
        empty = conn.execute(
            text("SELECT count(*) FROM regions WHERE parent_code IN ('nan', 'None', '')")
        ).scalar_one()
        assert empty == 0


def test_fill_from_parent_and_a_level_from_two_files(engine, tmp_path):
    write(frame([{"nr": "A", "name": "Ost"}], [square(0, width=3)]), tmp_path / "bezirk.gpkg")
    # Ortsteile of A in two files; O2 has an exclave in the second file; O3 is in neither
    write(
        frame(
            [{"nr": "O1", "name": "Eins"}, {"nr": "O2", "name": "Zwei"}],
            [square(0), square(1, width=0.5)],
        ),
        tmp_path / "ot-1.gpkg",
    )
    write(frame([{"nr": "O2", "name": "Zwei"}], [square(1.5, width=0.5)]), tmp_path / "ot-2.gpkg")
    manifest = HEAD + level("bezirk", "bezirk.gpkg", 'code_field = "nr"\nname_field = "name"\n')
    manifest += level(
        "ortsteil",
        "ot-1.gpkg",
        'code_field = "nr"\nname_field = "name"\nparent_by = "containment"\n',
    )
    manifest += (
        '[[levels.more_sources]]\ntitle = "ot 2"\nmirror_path = "ot-2.gpkg"\n'
        '[[levels.fill]]\ncode = "O3"\nname = "Drei"\nparent = "A"\n'
    )
    result = ingest_system(engine, "town", settings_with(tmp_path, manifest), srid=SRID)
    assert any("joined (e.g. O2)" in n for n in result.notes), result.notes
    assert any("O3 (Drei) filled from its parent A: 1.00 km²" in n for n in result.notes)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.code, r.area_m2, r.parent_code FROM regions r JOIN region_levels l "
                "ON l.id = r.level_id WHERE l.key = 'ortsteil' ORDER BY r.code"
            )
        ).all()
    assert [(r.code, round(r.area_m2 / 1e6, 2), r.parent_code) for r in rows] == [
        ("O1", 1.0, "A"),
        ("O2", 1.0, "A"),
        ("O3", 1.0, "A"),
    ]
    area_check = next(c for c in result.checks if c.name == "area_sums")
    assert area_check.ok


def test_fill_whose_parent_is_unknown_writes_nothing(engine, tmp_path):
    write(frame([{"nr": "A", "name": "Ost"}], [square(0)]), tmp_path / "bezirk.gpkg")
    write(frame([{"nr": "O1", "name": "Eins"}], [square(0)]), tmp_path / "ot.gpkg")
    manifest = HEAD + level("bezirk", "bezirk.gpkg", 'code_field = "nr"\nname_field = "name"\n')
    manifest += level("ortsteil", "ot.gpkg", 'code_field = "nr"\nname_field = "name"\n')
    manifest += '[[levels.fill]]\ncode = "O9"\nname = "Neun"\nparent = "Q"\n'
    settings = settings_with(tmp_path, manifest)
    assert_nothing_written(
        engine,
        lambda: ingest_system(engine, "town", settings, srid=SRID),
        "fill 'O9': its parent 'Q' does not exist",
    )


def test_names_only_with_a_key_table(engine, tmp_path):
    write(
        frame(
            [{"Name": "Groß Borstel"}, {"Name": "St.Georg"}, {"Name": "Insel"}],
            [square(0), square(1), square(2)],
        ),
        tmp_path / "teile.geojson",
    )
    (tmp_path / "key.csv").write_text(
        "Teil;Bezirk\nGroß Borstel;Nord\nSt. Georg;Mitte\nInsel;Mitte\n", encoding="utf-8"
    )
    manifest = keyed_manifest()
    ingest_system(engine, "town", settings_with(tmp_path, manifest), srid=SRID)
    assert stored_regions(engine) == [
        ("bezirk", "mitte", "Mitte", None),
        ("bezirk", "nord", "Nord", None),
        ("teil", "gross-borstel", "Groß Borstel", "nord"),
        ("teil", "insel", "Insel", "mitte"),
        ("teil", "st-georg", "St.Georg", "mitte"),
    ]


def test_a_feature_missing_from_the_key_table_is_named(engine, tmp_path):
    write(frame([{"Name": "Nirgendwo"}], [square(0)]), tmp_path / "teile.geojson")
    (tmp_path / "key.csv").write_text("Teil;Bezirk\nAnderswo;Nord\n", encoding="utf-8")
    manifest = keyed_manifest()
    settings = settings_with(tmp_path, manifest)
    assert_nothing_written(
        engine,
        lambda: ingest_system(engine, "town", settings, srid=SRID),
        "teile.geojson",
        "feature 0",
        "1 Teil features are not in the key table key.csv, e.g. 'Nirgendwo'",
    )


def test_delete_refuses_while_values_depend_and_then_removes(skipping):
    engine, _ = skipping
    with pytest.raises(IngestError) as caught:
        delete_system(engine, "town")
    assert "3 statistic values of file-ew-2024-12-31 depend on it" in str(caught.value)
    with pytest.raises(IngestError) as middle:
        delete_system(engine, "town", "ortsteil")
    assert "only the coarsest or the finest level" in str(middle.value)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM statistic_values"))
    assert delete_system(engine, "town", "bezirk") == "deleted town/bezirk: 2 regions"
    with engine.connect() as conn:
        summary = system_summaries(conn, "town")[0]
        assert [lvl.key for lvl in summary.levels] == ["ortsteil", "stadtteil"]
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM regions r JOIN region_levels l ON l.id = r.level_id "
                "WHERE l.key = 'ortsteil' AND r.parent_code IS NOT NULL"
            )
        ).scalar_one()
        assert orphans == 0
    assert delete_system(engine, "town") == "deleted town: 2 levels, 4 regions"
    with engine.connect() as conn:
        assert system_summaries(conn) == []


def test_a_coarser_level_added_above_a_loaded_one(engine, tmp_path, data_settings):
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    quarters = frame(
        [{"Name": "Nordend"}, {"Name": "Südend"}, {"Name": "Westend"}],
        [square(0), square(1), square(2)],
    )
    bezirke = frame(
        [{"nr": "A", "n": "Ost"}, {"nr": "B", "n": "West"}], [square(0, width=2), square(2)]
    )
    names_only = FieldMap("Name", "Name", generate_codes=True)
    ingest_file(
        engine,
        str(write(quarters, tmp_path / "q.gpkg")),
        FileLevel(system="town", level="quartier", fields=names_only),
        data_settings,
        srid=SRID,
    )
    result = ingest_file(
        engine,
        str(write(bezirke, tmp_path / "b.gpkg")),
        FileLevel(system="town", level="bezirk", fields=FieldMap("nr", "n"), above=True),
        data_settings,
        srid=SRID,
    )
    assert all(c.ok for c in result.checks), [c for c in result.checks if not c.ok]
    assert [(lvl, code, parent) for lvl, code, _, parent in stored_regions(engine)] == [
        ("bezirk", "A", None),
        ("bezirk", "B", None),
        ("quartier", "nordend", "A"),
        ("quartier", "suedend", "A"),
        ("quartier", "westend", "B"),
    ]


def test_codes_from_the_key_table(engine, tmp_path):
    write(
        frame(
            [{"Name": "Altstadt"}, {"Name": "Neustadt"}, {"Name": "Hafen"}],
            [square(0), square(1), square(2)],
        ),
        tmp_path / "teile.geojson",
    )
    (tmp_path / "key.csv").write_text(
        "Teil;Nummer;Bezirk;Bezirksnummer\nAltstadt;101;Mitte;1\nNeustadt;102;Mitte;1\n"
        "Hafen;201;Süd;2\n",
        encoding="utf-8",
    )
    manifest = keyed_manifest('code_column = "Nummer"\n', ', code_column = "Bezirksnummer"')
    result = ingest_system(engine, "town", settings_with(tmp_path, manifest), srid=SRID)
    assert any("codes from the key table's column 'Nummer'" in n for n in result.notes)
    assert stored_regions(engine) == [
        ("bezirk", "1", "Mitte", None),
        ("bezirk", "2", "Süd", None),
        ("teil", "101", "Altstadt", "1"),
        ("teil", "102", "Neustadt", "1"),
        ("teil", "201", "Hafen", "2"),
    ]
