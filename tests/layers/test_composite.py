"""The MSS composite indices on the real MSS 2021 data, and the method on a hand-made case."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from layers.composite import (
    CompositeIndex,
    combined_classes,
    index_values,
    load_composites,
)
from layers.evaluators import index_table
from spatial.settings import DataSettings

MSS_PERIOD = date(2020, 12, 31)
OFFICIAL = Path(__file__).parent / "fixtures" / "mss_2021_official_classes.csv"


@pytest.fixture(scope="module")
def composites():
    return load_composites(DataSettings().pack_dirs("composites"))


@pytest.mark.mirror
def test_mss_2021_status_and_dynamics(berlin_engine, composites):
    with berlin_engine.connect() as conn:
        status = index_table(
            conn, composites["mss_status_index"], "berlin-lor-2021", "plr", MSS_PERIOD
        )
        dynamics = index_table(
            conn, composites["mss_dynamics_index"], "berlin-lor-2021", "plr", MSS_PERIOD
        )
    for table in (status, dynamics):
        included = table[table["status"] == "valid"]
        assert len(table) == 542 and len(included) == 536
        assert table.loc[table["status"] != "valid", "class"].isna().all()
        assert included["index"].mean() == pytest.approx(0, abs=1e-9)
        assert included["index"].std(ddof=0) == pytest.approx(1)
    assert set(status["class"].dropna()) <= {"hoch", "mittel", "niedrig", "sehr niedrig"}
    assert set(dynamics["class"].dropna()) <= {"positiv", "stabil", "negativ"}
    counts = status["class"].value_counts().to_dict()
    print("MSS 2021 status classes:", counts, dynamics["class"].value_counts().to_dict())
    assert counts["mittel"] > counts["sehr niedrig"] > 0 and counts["hoch"] > 0
    combined = combined_classes(status, dynamics).set_index("code")["class"]
    assert combined.notna().sum() == 536
    assert combined.dropna().str.fullmatch(r"Status [a-z ]+, Dynamik [a-z]+").all()

    # Every valid PLR gets exactly the class of the official publication (Tabelle 1).
    official = pd.read_csv(OFFICIAL, dtype=str).set_index("plr_id")
    ours = status.set_index("code")["class"].dropna()
    assert sorted(ours.index) == sorted(official.index)
    status_diff = ours[ours != official.loc[ours.index, "status_class"]]
    ours_dyn = dynamics.set_index("code")["class"].dropna()
    dynamics_diff = ours_dyn[ours_dyn != official.loc[ours_dyn.index, "dynamics_class"]]
    assert status_diff.empty, status_diff
    assert dynamics_diff.empty, dynamics_diff


def test_index_by_hand():
    index = CompositeIndex.model_validate(
        {
            "key": "t",
            "name_de": "T",
            "name_en": "T",
            "class_name_de": "T",
            "components": [{"indicator": "a"}, {"indicator": "b", "weight": 2, "direction": -1}],
            "classes": [
                {"label": "low", "below": -1},
                {"label": "mid", "up_to": 1},
                {"label": "hi"},
            ],
        }
    )
    assert [index.classify(v) for v in (-1.01, -1, 1, 1.01)] == ["low", "mid", "mid", "hi"]
    # by hand: z(a) = (a - 3) / sqrt(3.5), z(b) = (b - 3) / 1, sum = z(a) - 2 z(b)
    # = [-3.0690, -2.5345, 2.0000, 3.6036], standardised again (sd 2.8648):
    values = pd.DataFrame({"a": [1.0, 2.0, 3.0, 6.0], "b": [4.0, 4.0, 2.0, 2.0]})
    got = index_values(values, index)
    assert got.tolist() == pytest.approx([-1.0713, -0.8847, 0.6981, 1.2579], abs=1e-4)
    assert [index.classify(v) for v in got] == ["low", "mid", "mid", "hi"]
