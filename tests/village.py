"""A generated village for the tests of the analysis layer: one Bezirk, two Bezirksregionen of
three Planungsräume each, a catalog with a count under statistical secrecy (its ratio follows the
disclosure rule, with a complement) and one Planungsraum of unknown population."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from geodata import grid, write

from ingest.statistics import ingest_statistics_file

PERIOD = date(2024, 12, 31)
CATALOG = """
key = "village"
source = "Dorfstatistik"

[[indicators]]
key = "inhabitants"
topic = "Bevölkerung"
name_de = "Einwohnende"
name_en = "Inhabitants"
unit = "Personen"
kind = "count"
aggregation = "sum"

[[indicators]]
key = "cases"
topic = "Soziales"
name_de = "Fälle"
name_en = "Cases"
unit = "Personen"
kind = "count"
aggregation = "sum"

[[indicators]]
key = "others"
topic = "Soziales"
name_de = "Übrige"
name_en = "Others"
unit = "Personen"
kind = "count"
aggregation = "sum"

[[indicators]]
key = "case_rate"
topic = "Soziales"
name_de = "Fallquote"
name_en = "Case rate"
unit = "%"
kind = "share"
aggregation = "ratio"
numerator = "cases"
denominator = "inhabitants"
scale = 100
small_numbers = "disclosure"
min_count = 3
complements = ["others"]
"""
# code: inhabitants, cases, others ('.' = unknown)
VALUES = {
    "010101": ("500", "2", "498"),  # 2 cases: under secrecy
    "010102": ("800", "40", "760"),
    "010103": ("700", "30", "670"),
    "010201": ("600", "10", "590"),
    "010202": ("900", "50", "850"),
    "010203": (".", "1", "."),  # unknown population, one case
}


def load_village(engine, tmp_path: Path, settings) -> None:
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    base = {"system": "village", "city": "Dorf", "system_name": "Dorf"}
    plr = ["010101", "010102", "010103", "010201", "010202", "010203"]
    for level, frame in (
        ("bezirk", grid(["01"], size=6000, columns=1)),
        ("bzr", grid(["0101", "0102"], size=3000, columns=2)),
        ("plr", grid(plr, size=1000, columns=6)),
    ):
        ingest_file(
            engine,
            str(write(frame, tmp_path / f"village-{level}.gpkg")),
            FileLevel(level=level, fields=FieldMap("code", "name"), **base),
            settings,
            srid=25833,
        )


@pytest.fixture
def village(engine, tmp_path: Path, data_settings):
    """The generated village with its values loaded."""
    load_village(engine, tmp_path, data_settings)
    catalogs = tmp_path / "catalog"
    catalogs.mkdir()
    (catalogs / "village.toml").write_text(CATALOG, encoding="utf-8")
    table = tmp_path / "werte.csv"
    rows = [f"{code};{';'.join(v)}" for code, v in VALUES.items()]
    table.write_text("Nr;EW;Faelle;Uebrige\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ingest_statistics_file(
        engine,
        str(table),
        data_settings.model_copy(update={"catalog_dir": catalogs}),
        system="village",
        level="plr",
        code_column="Nr",
        columns={"EW": "inhabitants", "Faelle": "cases", "Uebrige": "others"},
        period=PERIOD,
    )
    return engine
