"""A level of more regions than ``choropleth_tiles_above`` is drawn from vector tiles that
carry the values, coloured in the browser by the server's classes (the Berlin PLR, with the
threshold lowered): no GeoJSON of the level is fetched, the regions get the legend's colours,
the tooltip and the panel work."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from webserver import serve

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def tiled_server(berlin_url, web_settings):
    yield from serve(berlin_url, web_settings.model_copy(update={"choropleth_tiles_above": 200}))


def _canvas_colours(page) -> Counter:
    """The opaque colours of every drawn tile canvas, pixel by pixel (sampled)."""
    found = page.evaluate(
        """() => {
          const seen = {};
          for (const canvas of document.querySelectorAll('.leaflet-choropleth-pane canvas')) {
            const context = canvas.getContext('2d');
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 0; i < data.length; i += 4 * 7) {
              if (data[i + 3] < 200) continue;
              const key = [data[i], data[i + 1], data[i + 2]].join(',');
              seen[key] = (seen[key] || 0) + 1;
            }
          }
          return seen;
        }"""
    )
    return Counter(found)


def test_a_large_level_is_drawn_from_tiles_with_the_legend_colours(page, tiled_server, shots):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{tiled_server}/?level=plr&indicator=share_age_above_65")
    page.wait_for_selector("#map-frame[data-tiles=loaded]", timeout=30_000)
    assert page.locator("#map-frame").get_attribute("data-regions") == "542"
    assert not any("/api/choropleth/" in url for url in asked)
    tiles = [url for url in asked if re.search(r"/tiles/berlin-lor-2021-plr/\d+/\d+/\d+\.mvt", url)]
    assert tiles and all("indicators=share_age_above_65" in url for url in tiles)
    legend = page.locator("#legend .legend-class")
    assert legend.count() == 5
    page.screenshot(path=shots / "tiles-01-plr.png")
    # the canvas is drawn with the legend's colours at 80 % over the base map: at least three
    # distinct opaque fills show, as in the GeoJSON map
    colours = _canvas_colours(page)
    assert len([c for c, n in colours.items() if n > 50]) >= 3, colours.most_common(8)

    box = page.locator("#map-frame").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(timeout=10_000)
    assert re.search(r"\(\d{8}\)", tooltip.inner_text())
    assert re.search(r"\d+,\d", tooltip.inner_text())  # a share with a decimal comma
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#panel h2, #panel h3").first.wait_for(timeout=10_000)
    page.screenshot(path=shots / "tiles-02-panel.png")


@pytest.fixture(scope="module")
def coarse_server(berlin_url, web_settings):
    settings = {"choropleth_tiles_above": 200, "tile_max_regions": 200}
    yield from serve(berlin_url, web_settings.model_copy(update=settings))


def test_zoomed_out_a_coarser_level_is_drawn_until_the_large_one_is_legible(page, coarse_server):
    """With at most 200 regions per tile, the 542 PLR are legible from zoom 10; at zoom 9 the
    map draws the 143 Bezirksregionen with the same indicator, and a click opens their panel."""
    base = coarse_server
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{base}/?level=plr&indicator=share_age_above_65&lat=52.52&lon=13.40&zoom=9")
    page.wait_for_selector("#map-frame[data-tiles=loaded]", timeout=30_000)
    assert any("/tiles/berlin-lor-2021-bzr/9/" in url for url in asked)
    assert not any("/tiles/berlin-lor-2021-plr/" in url for url in asked)
    box = page.locator("#map-frame").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(timeout=10_000)
    assert "Bezirksregion" in tooltip.inner_text()
    assert re.search(r"\(\d{6}\)", tooltip.inner_text())  # a BZR code
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#panel h2, #panel h3").first.wait_for(timeout=10_000)
    asked.clear()
    page.goto(f"{base}/?level=plr&indicator=share_age_above_65&lat=52.52&lon=13.40&zoom=11")
    page.wait_for_selector("#map-frame[data-tiles=loaded]", timeout=30_000)
    assert any("/tiles/berlin-lor-2021-plr/11/" in url for url in asked)


def test_small_levels_still_come_as_geojson(page, tiled_server):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{tiled_server}/?level=bzr&indicator=share_age_above_65")
    # a function, not an expression: an expression string is evaluated, which the CSP forbids
    page.wait_for_function("() => document.querySelector('#map-frame').dataset.regions === '143'")
    assert any("/api/choropleth/" in url for url in asked)
    assert not any("/tiles/" in url for url in asked)
