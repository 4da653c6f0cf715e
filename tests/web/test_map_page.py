"""The planning map in headless chromium against a live server on the Berlin store: choropleth
drawn, level and indicator switched, tooltip in German number format, Kita overlay, region
panel and region page. Each step leaves a screenshot in test-artifacts/browser."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from webserver import ARTIFACTS

pytestmark = pytest.mark.mirror

REGIONS = "#map-frame .leaflet-choropleth-pane path"


def wait_for_regions(page, count: int) -> None:
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('#map-frame .leaflet-choropleth-pane path').length"
            " === n",
            arg=count,
            timeout=30_000,
        )
    except Exception:
        page.screenshot(path=ARTIFACTS / "failed.png")
        problems = page.locator(".problem").all_inner_texts()
        raise AssertionError(f"{count} regions not drawn on {page.url}: {problems}") from None


def test_map_switch_level_indicator_hover_overlay_and_region(page, live_server, shots):
    failed_scripts = []
    page.on("pageerror", lambda error: failed_scripts.append(str(error)))
    page.goto(f"{live_server}/?level=plr&indicator=share_age_above_65")
    wait_for_regions(page, 542)
    assert page.locator("#legend .legend-class").count() == 5
    assert "Planungsraum" in page.locator("#map-title").inner_text()
    assert "Amt für Statistik" in page.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=shots / "01-map-plr.png")

    page.select_option("#level", "bzr")
    page.wait_for_url(re.compile(r"level=bzr"))
    wait_for_regions(page, 143)
    assert "Bezirksregion" in page.locator("#map-title").inner_text()
    page.screenshot(path=shots / "02-map-bzr.png")

    legend_before = page.locator("#legend").inner_text()
    page.select_option("#indicator", "kita_places_per_100_u6")
    page.wait_for_url(re.compile(r"indicator=kita_places_per_100_u6"))
    wait_for_regions(page, 143)
    legend = page.locator("#legend").inner_text()
    assert legend != legend_before and "Kitaplätze je 100 Kinder" in legend
    page.screenshot(path=shots / "03-map-kita-places.png")

    region = page.locator(REGIONS).nth(40)
    region.hover()
    tooltip = page.locator(".leaflet-tooltip").last  # the way there may pass other regions
    tooltip.wait_for(timeout=10_000)
    text = tooltip.inner_text()
    assert re.search(r"\d+,\d Plätze je 100 Kinder", text), text
    assert "Klasse:" in text
    page.screenshot(path=shots / "04-tooltip.png")

    page.get_by_role("checkbox", name="Kitas").check()
    page.wait_for_selector(".marker-cluster", timeout=30_000)
    assert parse_qs(urlparse(page.url).query)["overlays"] == ["kita"]
    page.screenshot(path=shots / "05-kita-overlay.png")

    region.click()
    panel = page.locator("#panel .region-panel")
    panel.wait_for(timeout=30_000)
    assert "Berlin" in panel.inner_text()
    page.screenshot(path=shots / "06-region-panel.png")

    panel.locator("a.region-link").click()
    page.wait_for_selector("#figures")
    assert page.locator("#figures tr[data-indicator='inhabitants'] td.num").count() == 3
    assert page.locator(".breadcrumb a").count() >= 2
    page.screenshot(path=shots / "07-region-page.png", full_page=True)
    assert not failed_scripts
