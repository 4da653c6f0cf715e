"""The licence catalog: names to the address of their text, and the licences of sources."""

from __future__ import annotations

import pytest

from spatial.errors import SozialraumError
from spatial.features import Attribution
from spatial.licences import licences_of, load_licences
from spatial.settings import DataSettings


def test_the_shipped_catalog_knows_every_licence_the_packs_name():
    catalog = load_licences(DataSettings().licences_file)
    assert catalog["dl-de/by-2.0"].url == "https://www.govdata.de/dl-de/by-2-0"
    assert catalog["CC BY 3.0 DE"].url.startswith("https://creativecommons.org/")


def test_the_licences_of_sources_each_once_and_unknown_ones_left_out(tmp_path):
    path = tmp_path / "licences.toml"
    path.write_text('[licences."A"]\ntitle = "Lizenz A"\nurl = "https://example.org/a"\n')
    catalog = load_licences(path)
    sources = [Attribution("x", "A"), Attribution("y", "unbekannt"), Attribution("z", "A")]
    assert [licence.url for licence in licences_of(sources, catalog)] == ["https://example.org/a"]
    assert load_licences(tmp_path / "missing.toml") == {}


def test_a_broken_catalog_says_what_is_missing(tmp_path):
    path = tmp_path / "licences.toml"
    path.write_text('[licences."A"]\ntitle = "Lizenz A"\n')
    with pytest.raises(SozialraumError, match="needs a title and a url"):
        load_licences(path)
