"""A coordinator in chromium: logs in, draws a polygon in Marzahn Nord, saves the project, finds
it on the map and in the list of the Bezirksregion; a second session edits it meanwhile, so the
first gets the conflict message; the history shows both versions."""

from __future__ import annotations

import re

import pytest
from webserver import log_in, policy_violations

pytestmark = pytest.mark.mirror
CORNERS = [(52.5655, 13.5625), (52.5655, 13.5685), (52.5685, 13.5685), (52.5685, 13.5625)]


def _draw_polygon(page, corners) -> None:
    """Click the corners with the polygon tool (positions from the map's own projection)."""
    page.wait_for_selector(".leaflet-draw-draw-polygon")
    page.evaluate(
        "([lat, lon]) => sozialraum.projectMap.setView([lat, lon], 15, {animate: false})",
        list(corners[0]),
    )
    page.click(".leaflet-draw-draw-polygon")
    box = page.locator(".draw-map .folium-map").bounding_box()
    points = page.evaluate(
        "(corners) => corners.map(([lat, lon]) => "
        "sozialraum.projectMap.latLngToContainerPoint([lat, lon]))",
        [list(c) for c in corners],
    )
    for point in [*points, points[0]]:
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        page.wait_for_timeout(150)


def test_coordinator_draws_saves_and_meets_a_conflict(browser, records_server, people, shots):
    coordinator = people["coord10"].user.username
    first = browser.new_context(viewport={"width": 1400, "height": 900}, locale="de-DE")
    page = first.new_page()
    refused = policy_violations(page)  # drawing tools, map and forms under the policy
    log_in(page, records_server, coordinator, "/projects/new")
    _draw_polygon(page, CORNERS)
    assert page.evaluate("sozialraum.drawnLayer.getLayers().length") == 1
    page.fill("#title", "Spielplatz am Wuhletal")
    page.select_option("#status", "in Planung")
    page.select_option("#topic", "Kinder und Jugend")
    page.check("input[name=public]")
    page.screenshot(path=str(shots / "project-drawn.png"))
    page.click("#save")
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    project_id = page.url.rsplit("/", 1)[1]
    assert page.inner_text("#project-title") == "Spielplatz am Wuhletal"
    assert "Marzahn Nord" in page.inner_text("#project-regions")

    # on the map, as an overlay with its legend by status
    page.goto(f"{records_server}/?level=bzr&overlays=projekte")
    page.wait_for_function("Number(document.getElementById('map-frame').dataset.projects) >= 1")
    assert page.is_visible("#project-legend") and "in Planung" in page.inner_text("#project-legend")
    page.screenshot(path=str(shots / "project-on-map.png"))

    # in the list of its Bezirksregion, not in another one
    page.goto(f"{records_server}/projects?level=bzr&region=101001")
    assert "Spielplatz am Wuhletal" in page.inner_text("#project-list")
    page.goto(f"{records_server}/projects?level=bzr&region=101002")
    assert "Spielplatz am Wuhletal" not in page.inner_text("#project-list")

    # session A opens the form; session B saves a change first
    page.goto(f"{records_server}/projects/{project_id}/edit")
    second = browser.new_context(viewport={"width": 1400, "height": 900}, locale="de-DE")
    other = second.new_page()
    log_in(other, records_server, coordinator, f"/projects/{project_id}/edit")
    other.fill("#title", "Spielplatz am Wuhletal (erweitert)")
    other.select_option("#status", "laufend")
    other.click("#save")
    other.wait_for_url(re.compile(rf"/projects/{project_id}$"))

    page.fill("#title", "Spielplatz Wuhletal – neuer Name")
    page.click("#save")
    page.wait_for_selector("#form-message.conflict")
    message = page.inner_text("#form-message")
    assert "Nicht gespeichert" in message
    assert "Titel" in message and "Spielplatz am Wuhletal (erweitert)" in message
    page.screenshot(path=str(shots / "project-conflict.png"), full_page=True)

    page.goto(f"{records_server}/projects/{project_id}/history")
    versions = page.locator("tr.version").evaluate_all("rows => rows.map(r => r.dataset.version)")
    assert sorted(versions) == ["1", "2"]
    assert "Spielplatz am Wuhletal (erweitert)" in page.inner_text("#history")
    page.screenshot(path=str(shots / "project-history.png"))
    first.close()
    second.close()
    assert not refused, refused
