"""Profiles over HTTP: the sections API (district scope, versions, conflicts, history, restore),
the page and the PDF for anonymous and signed-in readers, and a coordinator editing a section
in chromium while a coordinator of another Bezirk gets no form."""

from __future__ import annotations

import re
import subprocess

import pytest
from webserver import log_in

pytestmark = pytest.mark.mirror
API = "/api/profiles/berlin-lor-2021"


def test_sections_api_scope_versions_history_restore(records_client, people):
    url = f"{API}/103007/sections"  # Biesdorf, Bezirk 10
    coord10, coord04, admin = (people[k].headers for k in ("coord10", "coord04", "admin"))
    assert records_client.get(url).json() == []

    refused = records_client.put(f"{url}/ziele", json={"body": "Fremd"}, headers=coord04)
    assert refused.status_code == 403
    assert (
        "district(s) berlin-lor-2021:10, not assigned to you (berlin-lor-2019:04, "
        in (refused.json()["detail"])
    )
    assert records_client.put(f"{url}/ziele", json={"body": "Anonym"}).status_code == 401
    assert records_client.get(url, headers=admin).json() == []  # nothing was written

    first = records_client.put(f"{url}/ziele", json={"body": "Ziel A"}, headers=coord10)
    assert first.status_code == 200 and first.json()["version"] == 1
    second = records_client.put(
        f"{url}/ziele", json={"body": "Ziel B", "public": True, "version": 1}, headers=coord10
    )
    assert second.json()["version"] == 2
    stale = records_client.put(
        f"{url}/ziele", json={"body": "Ziel C", "version": 1}, headers=coord10
    )
    assert stale.status_code == 409
    assert stale.json()["current"]["body"] == "Ziel B"
    assert [s["body"] for s in records_client.get(url).json()] == ["Ziel B"]  # public now

    history = records_client.get(f"{url}/ziele/history", headers=coord10).json()
    assert [(h["version"], h["action"], h["user"]) for h in history] == [
        (1, "create", "Coord10 Test"),
        (2, "update", "Coord10 Test"),
    ]
    assert records_client.get(f"{url}/ziele/history").status_code == 401
    restored = records_client.post(
        f"{url}/ziele/restore", json={"restore": 1, "version": 2}, headers=coord10
    ).json()
    assert (restored["version"], restored["body"], restored["public"]) == (3, "Ziel A", False)
    assert records_client.get(url).json() == []  # version 1 was internal

    free = records_client.post(url, json={"title": "Verkehr", "body": "Tempo 30"}, headers=coord10)
    assert free.status_code == 201 and free.json()["key"] == "frei-1"
    bad = [
        records_client.put(f"{url}/ziele", json={"body": "x" * 100_001}, headers=coord10),
        records_client.put(f"{url}/ziele", json={"body": "x", "farbe": 1}, headers=coord10),
        records_client.post(url, json={"body": "ohne Titel"}, headers=coord10),
        records_client.put(f"{API}/999999/sections/ziele", json={"body": "x"}, headers=coord10),
        records_client.put(f"{url}/unbekannt", json={"body": "x"}, headers=coord10),
    ]
    assert [r.status_code for r in bad] == [422, 422, 422, 404, 404]
    assert "a free section needs a title" in bad[2].json()["detail"]
    keys = [s["key"] for s in records_client.get(url, headers=admin).json()]
    assert keys == ["ziele", "frei-1"]


def test_page_and_pdf_for_anonymous_and_signed_in_readers(records_client, people, tmp_path):
    coord = people["coord10"].headers
    sections = f"{API}/104009/sections"  # Mahlsdorf
    records_client.put(f"{sections}/ziele", json={"body": "**Intern** geplant"}, headers=coord)
    records_client.put(
        f"{sections}/ressourcen", json={"body": "Stadtteilzentrum", "public": True}, headers=coord
    )
    anonymous = records_client.get("/profile/berlin-lor-2021/104009")
    assert anonymous.status_code == 200
    page = anonymous.text
    for text in ("Mahlsdorf", "Kennzahlen", "Soziale Lage", "Stadtteilzentrum", "Datenquellen"):
        assert text in page, text
    assert "geplant" not in page and "öffentliche Fassung" in page
    assert "section-form" not in page
    signed_in = records_client.get("/profile/berlin-lor-2021/104009", headers=coord).text
    assert "<strong>Intern</strong> geplant" in signed_in and "section-form" in signed_in

    pdf = records_client.get("/profile/berlin-lor-2021/104009.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "profil_berlin-lor-2021_bzr_104009_mahlsdorf.pdf" in pdf.headers["content-disposition"]
    renders = records_client.app.state.pdfs.renders
    again = records_client.get("/profile/berlin-lor-2021/104009.pdf")
    assert again.content == pdf.content  # the same document: not laid out again
    assert records_client.app.state.pdfs.renders == renders
    path = tmp_path / "mahlsdorf.pdf"
    path.write_bytes(pdf.content)
    extracted = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Mahlsdorf" in extracted and "Stadtteilzentrum" in extracted
    assert "geplant" not in extracted

    missing = records_client.get("/profile/berlin-lor-2021/999999")
    assert missing.status_code == 404 and "999999" in missing.text


def test_coordinator_edits_a_section_in_the_browser(browser, records_server, people, shots):
    target = "/profile/berlin-lor-2021/104008"  # Kaulsdorf, Bezirk 10
    context = browser.new_context(viewport={"width": 1300, "height": 900}, locale="de-DE")
    page = context.new_page()
    log_in(page, records_server, people["coord10"].user.username, target)
    section = page.locator("#text-handlungsbedarfe")
    assert "Noch kein Text" in section.inner_text()
    page.screenshot(path=str(shots / "profile-page.png"))
    for version, text in ((1, "**Wohnumfeld** verbessern"), (2, "**Wohnumfeld** und Spielplätze")):
        section.locator("summary").click()
        section.locator("textarea[name=body]").fill(text)
        if version == 1:
            section.locator("input[name=public]").check()
        section.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r"#text-handlungsbedarfe$"))
        section = page.locator("#text-handlungsbedarfe")
        assert section.locator(".markdown strong").inner_text() == "Wohnumfeld"
        assert f"Version {version}" in section.locator(".byline").inner_text()
    page.screenshot(path=str(shots / "profile-section-edited.png"), full_page=False)
    section.locator("a", has_text="Verlauf").click()
    page.wait_for_url(re.compile(r"/sections/handlungsbedarfe/history$"))
    rows = page.locator("#history tr.version")
    assert rows.count() == 2
    assert "Coord10 Test" in rows.nth(0).inner_text()
    page.screenshot(path=str(shots / "profile-section-history.png"))
    page.locator("#history tr[data-version='1'] button").click()  # restore version 1
    page.wait_for_url(re.compile(r"#text-handlungsbedarfe$"))
    assert "Version 3" in page.locator("#text-handlungsbedarfe .byline").inner_text()
    assert "verbessern" in page.locator("#text-handlungsbedarfe .markdown").inner_text()
    context.close()

    other = browser.new_context(locale="de-DE")
    foreign = other.new_page()
    log_in(foreign, records_server, people["coord04"].user.username, target)
    assert foreign.locator(".section-form").count() == 0
    assert "verbessern" in foreign.locator("#text-handlungsbedarfe").inner_text()
    other.close()
