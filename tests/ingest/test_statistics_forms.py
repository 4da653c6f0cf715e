"""Statistics tables as cities really publish them, loaded with only a source manifest: Latin-1
with CRLF, title rows above a header spanning two rows, footnotes after the data, total rows
checked and not loaded, long tables pivoted, row filters, classes summed into bands, workbooks
with merged header cells and years written '1982-1983', rows matched by name with aliases,
every German number form."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SRID, assert_nothing_written
from geodata import grid, write
from test_statistics import values

from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from ingest.statistics import ingest_statistics
from ingest.tables import parse_number
from spatial.settings import PROJECT_ROOT, DataSettings

CODES = ["01100101", "01100102", "02200201"]
NAMES = ["St.Pauli", "Schloßstraße", "Neu-Allermöhe"]


@pytest.fixture
def named_store(engine, tmp_path, data_settings):
    path = write(grid(CODES, names=NAMES), tmp_path / "plr.gpkg")
    level = FileLevel(system="mini", level="plr", fields=FieldMap("code", "name", code_length=8))
    ingest_file(engine, str(path), level, data_settings, srid=SRID)
    return engine


def manifest(tmp_path: Path, body: str, dated: bool = True) -> DataSettings:
    head = 'key = "mini"\ntitle = "Mini"\ncatalog = "population"\nsystem = "mini"\n'
    head += 'level = "plr"\n' + ('periods = { "2024-12-31" = "" }\n' if dated else "")
    (tmp_path / "stats").mkdir(exist_ok=True)
    (tmp_path / "stats" / "mini.toml").write_text(head + body, encoding="utf-8")
    return DataSettings(
        data_mirror=tmp_path,
        statistics_dir=tmp_path / "stats",
        catalog_dir=PROJECT_ROOT / "data" / "indicators",
        cache_dir=tmp_path / "cache",
    )


@pytest.mark.parametrize(
    ("cell", "number"),
    [("3 182", 3182), ("1.234,5", 1234.5), ("–    3", -3), ("−3", -3), ("-3", -3), ("16,2", 16.2)],
)
def test_every_german_number_form(cell, number):
    assert parse_number(cell, ",") == number


def test_latin1_crlf_title_two_row_header_footnotes_and_totals(named_store, tmp_path):
    rows = [
        "Tabelle 3: Einwohnerinnen und Einwohner;;;;",
        "Stand 31.12.2024;;;;",
        ";;;Alter;",
        "Gebiet;Nr;Einwohner;unter 6;6 bis unter 18",
        "St. Pauli;1100101;1 000;100;-",
        "Schlossstrasse;01100102;2.000;200;300",
        "Neuallermöhe;2200201;3 000;300;400",
        "Insgesamt;;6 000;600;700",
        ";;;;",
        "1) Quelle: Melderegister; Gebietsstand 2024",
        "x = Wert unterdrückt",
    ]
    (tmp_path / "ew.csv").write_bytes("\r\n".join(rows).encode("latin-1"))
    settings = manifest(
        tmp_path,
        'name_column = "Gebiet"\nmirror_template = "ew.csv"\nheader_row = 2\nheader_rows = 2\n'
        'footer_after_blank = true\ntotal_rows = ["Insgesamt"]\n'
        "[columns]\n"
        'Einwohner = "inhabitants"\n"Alter unter 6" = "inhabitants_age_below_6"\n',
    )
    result = ingest_statistics(named_store, "mini", settings)
    got = values(named_store, "inhabitants").set_index("code")["value"].to_dict()
    assert got == {"01100101": 1000, "01100102": 2000, "02200201": 3000}
    assert values(named_store, "inhabitants_age_below_6")["value"].sum() == 600
    assert any("total row 'Insgesamt'" in n and "difference +0" in n for n in result.notes)


def test_total_row_that_does_not_add_up_is_reported(named_store, tmp_path):
    rows = ["Gebiet;Einwohner", "St.Pauli;10", "Schloßstraße;20", "Neu-Allermöhe;30", "Hamburg;70"]
    (tmp_path / "ew.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = manifest(
        tmp_path,
        'name_column = "Gebiet"\nmirror_template = "ew.csv"\ntotal_rows = ["Hamburg"]\n'
        '[columns]\nEinwohner = "inhabitants"\n',
    )
    result = ingest_statistics(named_store, "mini", settings)
    assert len(values(named_store, "inhabitants")) == 3  # the total is not a region
    assert any("add up to 60 (difference -10)" in n for n in result.notes), result.notes


def test_long_table_pivoted_filtered_and_classes_summed(named_store, tmp_path):
    rows = ["Nr,Geschlecht,Altersgruppe,Anzahl"]
    for code in CODES:
        for sex in ("insgesamt", "weiblich"):
            factor = 1 if sex == "insgesamt" else 0
            for band, n in (("0-3", 10), ("3-6", 20), ("6-18", 30), ("18+", 40)):
                rows.append(f"{code},{sex},{band},{n * factor}")
    (tmp_path / "lang.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = manifest(
        tmp_path,
        'code_column = "Nr"\nmirror_template = "lang.csv"\ndecimal = "."\n'
        'filters = { Geschlecht = "insgesamt" }\n'
        'pivot = { category_column = "Altersgruppe", value_column = "Anzahl" }\n'
        "[sums]\n"
        'inhabitants_age_below_6 = ["0-3", "3-6"]\n'
        'inhabitants = ["0-3", "3-6", "6-18", "18+"]\n',
    )
    result = ingest_statistics(named_store, "mini", settings)
    assert result.counts == {"valid": 6}
    assert set(values(named_store, "inhabitants_age_below_6")["value"]) == {30}
    assert set(values(named_store, "inhabitants")["value"]) == {100}


def test_pivot_with_a_category_twice_names_both_lines(named_store, tmp_path):
    rows = ["Nr,Merkmal,Anzahl", "01100101,EW,5", "01100101,EW,6", "01100102,EW,7"]
    (tmp_path / "lang.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = manifest(
        tmp_path,
        'code_column = "Nr"\nmirror_template = "lang.csv"\n'
        'pivot = { category_column = "Merkmal", value_column = "Anzahl" }\n'
        '[columns]\nEW = "inhabitants"\n',
    )
    assert_nothing_written(
        named_store,
        lambda: ingest_statistics(named_store, "mini", settings),
        "Merkmal 'EW' appears twice for '01100101'",
        "lines 2, 3",
    )


def test_workbook_with_merged_header_cells_and_year_ranges(named_store, tmp_path):
    sheet = pd.DataFrame(
        [
            ["Bevölkerung nach Gebiet", None, None, None],
            [None, None, "Einwohner", None],
            ["Nr", "Zeitraum", "insgesamt", "unter 6"],
            ["01100101", "2023-2024", "1.234", "56"],
            ["01100102", "2023-2024", "2.000", "0"],
            ["02200201", "2023/24", "10", "x"],
        ]
    )
    path = tmp_path / "ew.xlsx"
    sheet.to_excel(path, header=False, index=False)
    settings = manifest(
        tmp_path,
        'code_column = "Nr"\nmirror_template = "ew.xlsx"\nheader_row = 1\nheader_rows = 2\n'
        'period_column = "Zeitraum"\nperiod_format = "year_range"\n'
        "[columns]\n"
        '"Einwohner insgesamt" = "inhabitants"\n"Einwohner unter 6" = "inhabitants_age_below_6"\n',
        dated=False,
    )
    result = ingest_statistics(named_store, "mini", settings)
    assert result.counts == {"valid": 5, "no_data": 1}
    got = values(named_store, "inhabitants")
    assert set(got["period"].astype(str)) == {"2024-12-31"}
    assert got["value"].sum() == 3244


def test_names_that_match_no_region_are_reported_not_dropped(named_store, tmp_path):
    rows = ["Gebiet;Einwohner", "St. Pauli;10", "Atlantis;20"]
    (tmp_path / "ew.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = manifest(
        tmp_path,
        'name_column = "Gebiet"\nmirror_template = "ew.csv"\n'
        '[columns]\nEinwohner = "inhabitants"\n',
    )
    assert_nothing_written(
        named_store,
        lambda: ingest_statistics(named_store, "mini", settings),
        "1 region names do not exist in mini/plr (no geometry)",
        "Atlantis (ew.csv line 3)",
    )
    aliased = manifest(
        tmp_path,
        'name_column = "Gebiet"\nmirror_template = "ew.csv"\n'
        'name_aliases = { Atlantis = "Neu-Allermöhe" }\n[columns]\nEinwohner = "inhabitants"\n',
    )
    ingest_statistics(named_store, "mini", aliased)
    got = values(named_store, "inhabitants").set_index("code")["value"].to_dict()
    assert got == {"01100101": 10, "02200201": 20}


def test_keys_whose_length_tells_the_level(engine, tmp_path, data_settings):
    bezirke = FileLevel(
        system="mini", level="bezirk", fields=FieldMap("code", "name", code_length=2)
    )
    plr = FileLevel(system="mini", level="plr", fields=FieldMap("code", "name", code_length=8))
    ingest_file(
        engine,
        str(write(grid(["01", "02"]), tmp_path / "b.gpkg")),
        bezirke,
        data_settings,
        srid=SRID,
    )
    ingest_file(engine, str(write(grid(CODES), tmp_path / "p.gpkg")), plr, data_settings, srid=SRID)
    # a Bezirk without its zero, a Bezirk padded to eight digits, Planungsräume as integers
    rows = ["Nr;EW", "1;300", "02000000;70", "1100101;100", "01100102;200", "2200201;70"]
    (tmp_path / "ew.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = manifest(
        tmp_path,
        'code_column = "Nr"\nmirror_template = "ew.csv"\nlevels = ["bezirk", "plr"]\n'
        '[columns]\nEW = "inhabitants"\n',
    )
    result = ingest_statistics(engine, "mini", settings)
    got = values(engine, "inhabitants").set_index("code")["value"].to_dict()
    assert got == {"01": 300, "02": 70, "01100101": 100, "01100102": 200, "02200201": 70}
    assert any("4 keys were brought to their level's code length" in n for n in result.notes)
