"""The small-number rules on a generated village (one Bezirk, two Bezirksregionen of three
Planungsräume each): a count under statistical secrecy cannot be had back through the inputs
of its ratio, its complement, "parent minus the visible children", or a region of unknown
population; the reliability rule hides what is too small or unknown, also as a parent value."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text
from village import PERIOD

from layers.indicators import indicator_table
from layers.levels import ancestor_ids, get_level
from layers.materialize import refresh_store


def _status(conn, level: str, key: str) -> dict[str, str]:
    rows = indicator_table(conn, "village", level, key, PERIOD).rows
    return dict(zip(rows["code"], rows["status"], strict=True))


def _hidden(conn, level: str, key: str) -> set[str]:
    return {code for code, status in _status(conn, level, key).items() if status != "valid"}


@pytest.mark.parametrize("stored", [False, True], ids=["computed", "from the store"])
def test_a_count_under_secrecy_is_hidden_with_its_inputs_and_complement(village, stored):
    with village.begin() as conn:
        if stored:
            assert refresh_store(conn) > 0
        assert _status(conn, "plr", "case_rate")["010101"] == "suppressed"
        hidden = _hidden(conn, "plr", "cases")
        assert {"010101", "010203"} <= hidden  # 2 cases; 1 case where the population is unknown
        for key in ("case_rate", "inhabitants", "others"):  # the ratio, its denominator, the
            assert hidden <= _hidden(conn, "plr", key), key  # complement
        values = indicator_table(conn, "village", "plr", "cases", PERIOD).rows
        assert values.loc[values["code"].isin(hidden), "value"].isna().all()


def test_no_hidden_cell_is_parent_minus_its_visible_siblings(village):
    """Secondary suppression: under every visible parent, never exactly one hidden child
    (which would be the parent minus the others); a hidden parent never has all children
    visible (it would be their sum)."""
    with village.connect() as conn:
        plr, bzr = get_level(conn, "village", "plr"), get_level(conn, "village", "bzr")
        parent_of = ancestor_ids(conn, plr, bzr)
        rows = indicator_table(conn, "village", "plr", "cases", PERIOD).rows
        parents = indicator_table(conn, "village", "bzr", "cases", PERIOD).rows
    by_id = parents.set_index("region_id")
    for parent_id, group in rows.groupby(rows["region_id"].map(parent_of)):
        hidden = int((group["status"] != "valid").sum())
        if by_id.at[parent_id, "status"] == "valid":
            assert hidden != 1, group[["code", "status"]].to_dict("records")
        else:
            assert hidden >= 1
    shown = rows[rows["status"] == "valid"]
    assert set(shown["code"]) == {"010102", "010202"}
    # 0101 = 72 cases and only 010102 (40) is shown: 2 and 30 stay unknown
    assert by_id["value"].dropna().tolist() == [72.0, 61.0]


def test_secrecy_holds_at_every_level_and_in_the_parent_values(village):
    with village.connect() as conn:
        plr = indicator_table(conn, "village", "plr", "case_rate", PERIOD).rows
        bzr = indicator_table(conn, "village", "bzr", "case_rate", PERIOD).rows
    assert (bzr["status"] == "valid").all()  # 72 and 61 cases: nothing to hide
    # parent values are the published values of the parent
    shown = bzr.set_index("code")["value"]
    assert np.allclose(plr["parent_value"], plr["parent_code"].map(shown))


def test_reliability_hides_a_parent_too_small_also_as_parent_value(village):
    with village.begin() as conn:
        conn.execute(text("UPDATE indicators SET min_population = 1800 WHERE key = 'others'"))
        bzr = indicator_table(conn, "village", "bzr", "others", PERIOD).rows.set_index("code")
        plr = indicator_table(conn, "village", "plr", "others", PERIOD).rows.set_index("code")
    assert bzr.at["0101", "status"] == "valid"  # 2,000 inhabitants
    assert bzr.at["0102", "status"] == "suppressed"  # 1,500 known and one region unknown
    assert plr.loc[["010201", "010202"], "parent_value"].isna().all()
    assert (plr.loc[["010102"], "parent_value"] == bzr.at["0101", "value"]).all()
