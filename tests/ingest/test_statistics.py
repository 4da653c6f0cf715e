"""Statistics ingest: the real Berlin figures, and bad or awkward tables on generated data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SRID, assert_nothing_written, table_counts
from geodata import grid, write
from sqlalchemy import text

from ingest.errors import IngestError
from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from ingest.statistics import ingest_statistics, ingest_statistics_file
from ingest.tables import parse_number
from spatial.settings import PROJECT_ROOT, DataSettings


def values(engine, indicator: str, period: str | None = None) -> pd.DataFrame:
    sql = (
        "SELECT r.code, v.period, v.value, v.status FROM statistic_values v "
        "JOIN indicators i ON i.id = v.indicator_id JOIN regions r ON r.id = v.region_id "
        "WHERE i.key = :key" + (" AND v.period = :period" if period else "")
    )
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params={"key": indicator, "period": period})


@pytest.mark.mirror
def test_population_over_eight_half_years(berlin_engine):
    inhabitants = values(berlin_engine, "inhabitants")
    lor2021 = inhabitants[inhabitants["code"].str.len() == 8]
    per_period = lor2021.groupby("period").size()
    assert len(per_period) == 10  # 8 half-years on LOR 2021 + 2 year-ends on LOR 2019
    dec_2024 = values(berlin_engine, "inhabitants", "2024-12-31")
    assert len(dec_2024) == 542 and (dec_2024["status"] == "valid").all()
    assert int(dec_2024["value"].sum()) == 3_897_145


@pytest.mark.mirror
def test_age_bands_add_up_in_every_region_and_period(berlin_engine):
    with berlin_engine.connect() as conn:
        off, compared = conn.execute(
            text(
                """
            WITH bands AS (
                SELECT v.region_id, v.period, sum(v.value) AS total FROM statistic_values v
                JOIN indicators i ON i.id = v.indicator_id
                WHERE i.key LIKE 'inhabitants_age_%' GROUP BY 1, 2)
            SELECT count(*) FILTER (WHERE b.total <> v.value), count(*)
            FROM bands b JOIN statistic_values v ON v.region_id = b.region_id
              AND v.period = b.period
            JOIN indicators i ON i.id = v.indicator_id AND i.key = 'inhabitants'
            """
            )
        ).one()
    assert compared == 542 * 8 + 448 * 2
    assert off == 0


@pytest.mark.mirror
def test_mss_invalid_regions_are_no_data(berlin_engine):
    s1 = values(berlin_engine, "mss_s1_unemployment")
    assert s1["status"].value_counts().to_dict() == {"valid": 536, "no_data": 6}
    assert set(s1["period"].astype(str)) == {"2020-12-31"}
    assert s1["value"].min() >= 0  # no -9999 sentinel survived as a number
    assert s1.loc[s1["code"] == "03300515", "status"].item() == "no_data"
    with berlin_engine.connect() as conn:
        sentinel = conn.execute(text("SELECT count(*) FROM statistic_values WHERE value <= -9999"))
        assert sentinel.scalar_one() == 0


@pytest.mark.mirror
def test_mss_context_indicators(berlin_engine):
    with berlin_engine.connect() as conn:
        per_indicator = conn.execute(
            text(
                "SELECT i.key, count(*) FILTER (WHERE v.status = 'valid'), "
                "count(*) FILTER (WHERE v.status = 'no_data') FROM statistic_values v "
                "JOIN indicators i ON i.id = v.indicator_id WHERE i.key LIKE 'mss_k%' GROUP BY 1"
            )
        ).all()
    assert len(per_indicator) == 14  # KI_01 … KI_17 without the old-LOR-only 08, 14, 15
    assert {(valid, no_data) for _, valid, no_data in per_indicator} == {(536, 6)}
    migration = values(berlin_engine, "mss_k05_migration").set_index("code")["value"]
    assert migration["01100102"] == pytest.approx(66.95)
    # K 05 and K 16 are the t1 shares of 31.12.2020 (t1 starts six months later: close, not equal)
    t1 = values(berlin_engine, "share_foreigners", "2021-06-30").set_index("code")["value"]
    foreigners = values(berlin_engine, "mss_k16_foreigners").set_index("code")["value"]
    joined = pd.concat([t1.rename("t1"), foreigners.rename("k16")], axis=1).dropna()
    assert len(joined) == 536 and joined.corr().iloc[0, 1] > 0.99


# -- generated data ---------------------------------------------------------------------------

CODES = ["01100101", "01100102", "02200201"]
MINI_PLR = FileLevel(system="mini", level="plr", fields=FieldMap("code", "name", code_length=8))


@pytest.fixture
def small_store(engine, tmp_path, data_settings):
    path = write(grid(CODES), tmp_path / "plr.gpkg")
    ingest_file(
        engine,
        str(path),
        MINI_PLR,
        data_settings,
        srid=SRID,
    )
    return engine


def source(tmp_path: Path, filename: str, **extra) -> DataSettings:
    lines = [
        'key = "mini"',
        'title = "Mini"',
        'catalog = "population"',
        'system = "mini"',
        'level = "plr"',
        f'code_column = "{extra.pop("code_column", "Nr")}"',
        f'mirror_template = "{filename}"',
        'periods = { "2024-12-31" = "" }',
        *[f"{k} = {v}" for k, v in extra.items()],
        "[columns]",
        'Einwohner = "inhabitants"',
        'Unter6 = "inhabitants_age_below_6"',
    ]
    (tmp_path / "stats").mkdir(exist_ok=True)
    (tmp_path / "stats" / "mini.toml").write_text("\n".join(lines), encoding="utf-8")
    return DataSettings(
        data_mirror=tmp_path,
        statistics_dir=tmp_path / "stats",
        catalog_dir=PROJECT_ROOT / "data" / "indicators",
        cache_dir=tmp_path / "cache",
    )


def write_csv(tmp_path: Path, name: str, rows: list[str], encoding: str = "utf-8") -> str:
    (tmp_path / name).write_bytes("\n".join(rows).encode(encoding))
    return name


def rejected(engine, settings, *fragments) -> str:
    return assert_nothing_written(
        engine, lambda: ingest_statistics(engine, "mini", settings), *fragments
    )


def test_windows_1252_with_semicolons_and_decimal_comma(small_store, tmp_path):
    name = write_csv(
        tmp_path,
        "ew.csv",
        [
            "Nr;Gebiet;Einwohner;Unter6",
            "01100101;Stülerstraße;3 182;1.234,5",
            "01100102;Großer Tiergarten;.;–",
            "02200201;Köpenick;12.345;x",
        ],
        encoding="cp1252",
    )
    result = ingest_statistics(small_store, "mini", source(tmp_path, name))
    assert result.counts == {"valid": 3, "no_data": 3}
    got = values(small_store, "inhabitants").set_index("code")["value"].to_dict()
    assert got["01100101"] == 3182 and got["02200201"] == 12345
    assert pd.isna(got["01100102"])
    assert (
        values(small_store, "inhabitants_age_below_6").set_index("code").loc["01100101", "value"]
        == 1234.5
    )


def test_unknown_region_code(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1", "09999999,7,2"])
    rejected(
        small_store,
        source(tmp_path, name),
        "1 region codes do not exist in mini/plr",
        "09999999 (ew.csv line 3)",
        "--skip-unknown",
    )
    result = ingest_statistics(small_store, "mini", source(tmp_path, name), skip_unknown=True)
    assert "skipped 1 unknown region codes" in result.notes[0]
    assert result.counts == {"valid": 2}


def test_codes_without_leading_zero_are_repaired(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "1100101,5,1", "2200201,7,2"])
    result = ingest_statistics(small_store, "mini", source(tmp_path, name))
    assert "2 codes had lost leading zeros" in result.notes[0]
    assert "1100101 → 01100101" in result.notes[0]
    assert set(values(small_store, "inhabitants")["code"]) == {"01100101", "02200201"}


def test_duplicate_region_period_row(small_store, tmp_path):
    name = write_csv(
        tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1", "01100102,6,1", "01100101,9,2"]
    )
    rejected(
        small_store,
        source(tmp_path, name),
        "duplicate row for region 01100101",
        "ew.csv line 2 and ew.csv line 4",
    )


def test_non_numeric_value(small_store, tmp_path):
    name = write_csv(
        tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1", "01100102,viele,1"]
    )
    rejected(
        small_store,
        source(tmp_path, name),
        "ew.csv",
        "field 'Einwohner'",
        "value 'viele'",
        "line 3: not a number",
    )


def test_xlsx_with_a_title_block(small_store, tmp_path):
    sheet = pd.DataFrame(
        [
            ["Einwohnerinnen und Einwohner am 31.12.2024", None, None],
            ["Quelle: Amt für Statistik", None, None],
            [None, None, None],
            ["Nr", "Einwohner", "Unter6"],
            ["01100101", "1.234", "56"],
            ["01100102", "2.000", "0"],
        ]
    )
    sheet.to_excel(tmp_path / "ew.xlsx", header=False, index=False)
    settings = source(tmp_path, "ew.xlsx", header_row=3)
    result = ingest_statistics(small_store, "mini", settings)
    assert result.counts == {"valid": 4}
    assert values(small_store, "inhabitants")["value"].sum() == 3234


def test_adhoc_file_with_a_period_column(small_store, tmp_path, data_settings):
    path = tmp_path / "adhoc.csv"
    path.write_text(
        "Stichtag;Gebiet;EW\n31.12.2023;01100101;10\n31.12.2024;01100101;12\n"
        "31.12.2024;1100102;-1\n",
        encoding="utf-8",
    )
    settings = data_settings.model_copy(
        update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}
    )
    options = dict(
        system="mini",
        level="plr",
        code_column="Gebiet",
        columns={"EW": "inhabitants"},
        period_column="Stichtag",
        period_format="%d.%m.%Y",
        sentinels=[-1],
    )
    result = ingest_statistics_file(small_store, str(path), settings, **options)
    assert result.counts == {"valid": 2, "no_data": 1}
    assert any("lost leading zeros" in n for n in result.notes)
    got = values(small_store, "inhabitants")
    assert sorted(got["period"].astype(str)) == ["2023-12-31", "2024-12-31", "2024-12-31"]
    assert_nothing_written(
        small_store,
        lambda: ingest_statistics_file(
            small_store, str(path), settings, **{**options, "columns": {"EW": "einwohner"}}
        ),
        "unknown indicators einwohner",
    )
    assert_nothing_written(
        small_store,
        lambda: ingest_statistics_file(
            small_store, str(path), settings, **{**options, "period_column": None}
        ),
        "--period",
    )


def test_same_data_again_is_a_noop(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1"])
    settings = source(tmp_path, name)
    first = ingest_statistics(small_store, "mini", settings)
    again = ingest_statistics(small_store, "mini", settings)
    assert again.skipped and again.run_id == first.run_id


@pytest.mark.parametrize(
    ("cell", "decimal", "expected"),
    [
        ("3 182", ",", 3182.0),
        ("1.234,5", ",", 1234.5),
        ("1,5", ",", 1.5),
        ("-0,25", ",", -0.25),
        ("12.345", ",", 12345.0),
        ("67.15083", ".", 67.15083),
        ("1,234.5", ".", 1234.5),
        ("3\u202f182", ",", 3182.0),
        ("−4,2", ",", -4.2),
        ("-9999", ".", -9999.0),
    ],
)
def test_parse_number(cell, decimal, expected):
    assert parse_number(cell, decimal) == expected


@pytest.mark.parametrize("cell", ["viele", "1,2,3x", "", "1 2 a"])
def test_parse_number_rejects(cell):
    with pytest.raises(ValueError):
        parse_number(cell, ",")


def test_forced_boundary_reload_does_not_drop_statistics(small_store, tmp_path, data_settings):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1"])
    ingest_statistics(small_store, "mini", source(tmp_path, name))
    before = table_counts(small_store)
    path = write(grid(CODES), tmp_path / "plr2.gpkg")
    with pytest.raises(IngestError, match="2 statistic values are stored on its regions"):
        ingest_file(
            small_store,
            str(path),
            MINI_PLR,
            data_settings,
            srid=SRID,
            force=True,
        )
    assert table_counts(small_store) == before


def test_an_infinite_number_is_refused(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,1e400,1"])
    rejected(small_store, source(tmp_path, name), "line 2: not a finite number", "'1e400'")


def test_a_negative_count_is_refused(small_store, tmp_path):
    rows = ["Nr,Einwohner,Unter6", "01100101,3580,100", "01100102,-12,5"]
    name = write_csv(tmp_path, "ew.csv", rows)
    rejected(
        small_store,
        source(tmp_path, name),
        "ew.csv",
        "line 3: 1 implausible value(s) of inhabitants",
        "count: at least 0",
        "'-12'",
    )


def test_a_share_over_100_is_refused(small_store, tmp_path):
    ew = tmp_path / "anteil.csv"
    ew.write_text("Nr;EW;Anteil\n01100101;100;37,5\n01100102;200;140\n", encoding="utf-8")

    def adhoc():
        return ingest_statistics_file(
            small_store,
            str(ew),
            source(tmp_path, "anteil.csv"),
            system="mini",
            level="plr",
            code_column="Nr",
            columns={"EW": "inhabitants", "Anteil": "share_foreigners"},
            period=pd.Timestamp("2024-12-31").date(),
            decimal=",",
        )

    assert_nothing_written(small_store, adhoc, "share_foreigners", "share: 0 to 100", "'140'")


def test_values_of_another_source_are_not_overwritten(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,3580,100"])
    ingest_statistics(small_store, "mini", source(tmp_path, name))
    one = tmp_path / "one.csv"
    one.write_text("Nr;EW\n01100101;1\n", encoding="utf-8")

    def adhoc(**flags):
        return ingest_statistics_file(
            small_store,
            str(one),
            source(tmp_path, name),
            system="mini",
            level="plr",
            code_column="Nr",
            columns={"EW": "inhabitants"},
            period=pd.Timestamp("2024-12-31").date(),
            **flags,
        )

    assert_nothing_written(
        small_store,
        adhoc,
        "would overwrite values another source loaded: 1 of mini (run",
        "--replace overwrites them",
    )
    assert values(small_store, "inhabitants")["value"].tolist() == [3580]
    adhoc(replace=True)
    assert values(small_store, "inhabitants")["value"].tolist() == [1]


def test_the_same_file_for_another_period_is_new_data(small_store, tmp_path, data_settings):
    table = tmp_path / "ew.csv"
    table.write_text("Nr;EW\n01100101;5\n", encoding="utf-8")
    for day in ("2023-12-31", "2024-12-31"):
        result = ingest_statistics_file(
            small_store,
            str(table),
            data_settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}),
            system="mini",
            level="plr",
            code_column="Nr",
            columns={"EW": "inhabitants"},
            period=pd.Timestamp(day).date(),
        )
        assert not result.skipped
    assert sorted(values(small_store, "inhabitants")["period"].astype(str)) == [
        "2023-12-31",
        "2024-12-31",
    ]


def test_a_forced_reload_that_drops_a_region_drops_its_values(small_store, tmp_path):
    name = write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,5,1", "01100102,7,2"])
    ingest_statistics(small_store, "mini", source(tmp_path, name))
    write_csv(tmp_path, "ew.csv", ["Nr,Einwohner,Unter6", "01100101,6,1"])
    ingest_statistics(small_store, "mini", source(tmp_path, name), force=True)
    assert values(small_store, "inhabitants").set_index("code")["value"].to_dict() == {
        "01100101": 6
    }


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"aggregation": "sum"}, "the disclosure rule needs min_count"),
        (
            {"aggregation": "weighted_mean", "weight": "x", "min_count": 3},
            "the disclosure rule applies to counts (sum) and ratios",
        ),
    ],
)
def test_a_disclosure_rule_needs_a_count_and_a_minimum(fields, message):
    from pydantic import ValidationError

    from ingest.catalog import Indicator

    base = {"key": "x", "topic": "T", "name_de": "X", "name_en": "X", "unit": "", "kind": "count"}
    with pytest.raises(ValidationError) as caught:
        Indicator(**base, small_numbers="disclosure", **fields)
    assert message in str(caught.value)
