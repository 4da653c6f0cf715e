"""The profile of Bezirksregion 101001 Marzahn Nord on the real Berlin data: its figures checked
against the stored values, its document rendered to PDF, read back with pdftotext and drawn
page by page with pdftoppm (the PNGs are kept as test artefacts)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

from layers.cache import LayerCache
from profiles.content import build_profile
from profiles.document import file_name, render_markdown, render_pdf
from profiles.settings import ProfileSettings
from records.settings import RecordSettings
from spatial.settings import DataSettings

SYSTEM = "berlin-lor-2021"
OFFICIAL = Path(__file__).parents[1] / "layers" / "fixtures" / "mss_2021_official_classes.csv"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "profiles"

BERLIN_TEMPLATE = ProfileSettings().template(DataSettings().packs(["berlin"])[0])


@pytest.fixture(scope="module")
def profile(berlin_url):
    from spatial.store import make_engine

    engine = make_engine(berlin_url)
    with engine.connect() as conn:
        built = build_profile(
            conn,
            LayerCache(),
            SYSTEM,
            "101001",
            internal=False,
            settings=ProfileSettings(),
            template=BERLIN_TEMPLATE,
            credit=RecordSettings().credit(),
        )
    engine.dispose()
    return built


def _latest_plr_values(conn, key: str) -> dict[str, float]:
    """The stored values of ``key`` for the Planungsräume of 101001 at its latest period,
    read straight from the statistics (PLR codes begin with their Bezirksregion's code)."""
    rows = conn.execute(
        text(
            """
            WITH v AS (
                SELECT r.code, s.value, s.period FROM statistic_values s
                JOIN indicators i ON i.id = s.indicator_id AND i.key = :key
                JOIN regions r ON r.id = s.region_id
                JOIN region_levels l ON l.id = r.level_id AND l.key = 'plr'
                JOIN region_systems y ON y.id = r.system_id AND y.key = :system
                WHERE r.code LIKE '101001%'
            )
            SELECT code, value FROM v WHERE period = (SELECT max(period) FROM v)
            """
        ),
        {"key": key, "system": SYSTEM},
    ).all()
    return {r.code: r.value for r in rows}


def test_population_is_the_sum_of_its_planungsraeume(profile, berlin_engine):
    with berlin_engine.connect() as conn:
        plr = _latest_plr_values(conn, "inhabitants")
    assert len(plr) == 4
    inhabitants = next(k.figure for k in profile.key_figures if k.figure.key == "inhabitants")
    assert inhabitants.value == sum(plr.values()) == 25148
    assert inhabitants.label == "25.148 Personen"
    assert inhabitants.top_label == "294.091 Personen"  # Marzahn-Hellersdorf
    # the age bands add up to the same population
    assert sum(b.count for b in profile.age.bands) == sum(plr.values())
    assert profile.age.period == inhabitants.period
    assert [p.name for p in profile.parents] == ["Marzahn-Hellersdorf", "Marzahn"]


def test_its_kitas_are_the_kitas_inside_it(profile, berlin_engine):
    with berlin_engine.connect() as conn:
        inside = conn.execute(
            text(
                """
                SELECT count(*) AS n, sum(f.capacity) AS places FROM facilities f
                JOIN regions r ON ST_Covers(r.geom, f.geom)
                JOIN region_systems y ON y.id = r.system_id AND y.key = :system
                WHERE r.code = '101001' AND f.category = 'kita'
                """
            ),
            {"system": SYSTEM},
        ).one()
    kitas = next(g for g in profile.facilities if g.key == "kita")
    assert (kitas.count, kitas.capacity) == (inside.n, inside.places) == (13, 1388)
    assert len(kitas.items) == 13
    assert kitas.supply.key == "kita_places_per_100_u6"
    assert kitas.supply.label.startswith("87,5 ")


def test_its_mss_classes_are_those_of_its_planungsraeume(profile):
    """Against the official MSS 2021 publication (Tabelle 1), not our own computation."""
    official = {
        row["plr_id"]: row
        for row in csv.DictReader(OFFICIAL.open(encoding="utf-8"))
        if row["plr_id"].startswith("101001")
    }
    assert (
        [r.code for r in profile.mss.rows]
        == sorted(official)
        == [
            "10100101",
            "10100102",
            "10100103",
            "10100104",
        ]
    )
    for row in profile.mss.rows:
        assert (row.status, row.dynamics) == (
            official[row.code]["status_class"],
            official[row.code]["dynamics_class"],
        ), row
        assert row.overall == f"Status {row.status}, Dynamik {row.dynamics}"
    assert dict(profile.mss.status_counts) == {
        "hoch": 0,
        "mittel": 3,
        "niedrig": 1,
        "sehr niedrig": 0,
    }


def test_the_pdf_has_the_content_and_its_pages_render(profile, tmp_path):
    for tool in ("pdftotext", "pdftoppm", "pdfinfo"):
        assert shutil.which(tool), f"{tool} (poppler-utils) is needed"
    pdf = tmp_path / file_name(profile)
    pdf.write_bytes(render_pdf(profile))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(ln.split()[-1] for ln in info.stdout.splitlines() if ln.startswith("Pages")))
    assert pages > 1
    extracted = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for heading in (
        "Marzahn Nord",
        "Marzahn-Hellersdorf",
        "Inhalt",
        "Kennzahlen",
        "Bevölkerung",
        "Soziale Lage",
        "Einrichtungen und Versorgung",
        "Projekte im Gebiet",
        "Beteiligung",
        "Ziele und Strategien",
        "Handlungsbedarfe",
        "Ressourcen und Akteure im Gebiet",
        "Datenquellen",
        "25.148 Personen",
        f"Seite 1 von {pages}",
        "Quelle: Amt für Statistik Berlin-Brandenburg",
    ):
        assert heading in extracted, heading
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("101001-*.png"):
        old.unlink()
    shutil.copy(pdf, ARTIFACTS / pdf.name)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", str(pdf), str(ARTIFACTS / "101001")], check=True
    )
    drawn = sorted(ARTIFACTS.glob("101001-*.png"))
    assert len(drawn) == pages
    for png in drawn:
        with Image.open(png) as image:
            assert image.size[1] > image.size[0]  # A4 portrait
            low, _high = image.convert("L").getextrema()
            assert low < 128, f"{png.name} is blank"


def test_written_text_cannot_inject_markup():
    html = str(
        render_markdown(
            "# Ziele\n\n<script>alert(1)</script>\n\n[Link](javascript:alert(1)) "
            '<img src=x onerror="alert(1)"> **fett**\n\n| a | b |\n|---|---|\n| 1 | 2 |'
        )
    )
    assert "<script" not in html and "<img" not in html
    assert "javascript:" not in html.replace("[Link](javascript:alert(1))", "")
    assert "<strong>fett</strong>" in html and "<table>" in html and "<h1>Ziele</h1>" in html


def test_counts_cover_every_record_not_only_the_listed_ones(records_engine, people):
    """Lists stop at ``max_items``; the counts by status, topic and year do not."""
    from people import project_body

    from records.events import EventInput, save_event
    from records.projects import ProjectInput, create_project

    coord, limits = people["coord10"].user, RecordSettings()
    corner = (13.5578, 52.5040)  # inside Bezirksregion 103007 Biesdorf
    with records_engine.begin() as conn:
        for i in range(12):
            body = project_body(
                title=f"Projekt {i}",
                status="laufend" if i % 3 else "in Planung",
                geometry={"type": "Point", "coordinates": [corner[0] + i * 2e-5, corner[1]]},
            )
            create_project(conn, ProjectInput(**body), coord, 25833, limits)
        for i in range(12):
            event = EventInput(
                type="Workshop",
                title=f"Werkstatt {i}",
                held_on=f"{2025 + i % 2}-05-0{1 + i % 9}",
                participants=10,
                system=SYSTEM,
                regions=["103007"],
            )
            save_event(conn, event, coord, 25833, limits)
    with records_engine.connect() as conn:
        built = build_profile(
            conn,
            LayerCache(),
            SYSTEM,
            "103007",
            internal=True,
            settings=ProfileSettings(max_items=10),
            template=BERLIN_TEMPLATE,
            credit=limits.credit(),
            today=date(2026, 11, 21),
        )
    assert len(built.projects) == 10 and len(built.events) == 10
    statuses = dict(built.project_status)
    assert statuses["laufend"] >= 8 and statuses["in Planung"] >= 4
    assert sum(statuses.values()) >= 12
    years = {year: (n, people_) for year, n, people_ in built.event_years}
    assert years[2025][0] >= 6 and years[2026][0] >= 6
    assert years[2025][1] >= 60
