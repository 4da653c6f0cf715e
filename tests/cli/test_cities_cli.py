"""City packs from the command line: ``city check`` on Hamburg's pack and on a broken copy,
``systems list|show|delete`` on the Hamburg store, ``demo --city hamburg`` from an empty data
directory."""

from __future__ import annotations

import shutil

import httpx
import pytest
from test_commands import run, running_demo

from spatial.settings import PROJECT_ROOT

pytestmark = pytest.mark.mirror
WIDE = {"COLUMNS": "220"}


def test_city_check_of_hamburg(mirror):
    result = run(
        "city", "check", "data/cities/hamburg", env={**WIDE, "SOZIALRAUM_DATA_MIRROR": str(mirror)}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Hamburg (hamburg), amtliches Bezugssystem EPSG:25832" in out
    for row in ("bezirk", "einheit", "stadtteil"):
        assert row in out
    assert "│ 7 " in out and "│ 100 " in out and "│ 104 " in out
    assert "│ 99     │ 99 " in out and "2022-12-31" in out
    assert "nothing was written" in out


def test_city_check_names_the_joins_that_fail(mirror, tmp_path):
    cities = tmp_path / "cities"
    shutil.copytree(PROJECT_ROOT / "data" / "cities" / "hamburg", cities / "hamburg")
    source = cities / "hamburg" / "statistics" / "hamburg-stadtteil-profile-2022.toml"
    # at the Stadtteil level the merged units of the profile table have no geometry
    source.write_text(source.read_text().replace('level = "einheit"', 'level = "stadtteil"'))
    env = {**WIDE, "SOZIALRAUM_DATA_MIRROR": str(mirror), "SOZIALRAUM_CITIES_DIR": str(cities)}
    result = run("city", "check", str(cities / "hamburg"), env=env)
    assert result.returncode == 2
    assert "4 names match no region of hamburg-stadtteile/stadtteil (no geometry)" in result.stdout
    assert "'Kleiner Grasbrook und Steinwerder'" in result.stdout
    assert "nothing was written" not in result.stdout
    missing = run("city", "check", str(tmp_path), env=env)
    assert missing.returncode == 1 and "no city.toml here" in missing.stderr


def test_systems_list_show_and_a_refused_delete(hamburg_url):
    env = {**WIDE, "SOZIALRAUM_DATABASE_URL": hamburg_url}
    listed = run("systems", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "hamburg-stadtteile" in listed.stdout and "einheit (100)" in listed.stdout
    shown = run("systems", "show", "hamburg-stadtteile", env=env)
    assert "754.58" in shown.stdout and "hamburg-stadtteil-profile-2022" in shown.stdout
    refused = run("systems", "delete", "hamburg-stadtteile", env=env)
    assert refused.returncode == 1
    assert "statistic values of hamburg-stadtteil-profile-2022 depend on it" in refused.stderr
    unknown = run("systems", "show", "atlantis", env=env)
    assert unknown.returncode == 1 and "no region system 'atlantis'" in unknown.stderr
    again = run("systems", "list", env=env)
    assert again.stdout == listed.stdout  # nothing was removed


def test_demo_of_hamburg_from_an_empty_data_dir(mirror):
    with running_demo(mirror, "--city", "hamburg") as base:
        systems = httpx.get(f"{base}/api/systems").json()
        counts = {s["key"]: [lvl["regions"] for lvl in s["levels"]] for s in systems}
        assert counts == {"hamburg-stadtteile": [7, 100, 104]}
        page = httpx.get(f"{base}/", timeout=60).text
        assert "Profil-Einheit" in page and "Statistikamt Nord" in page
