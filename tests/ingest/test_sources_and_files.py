"""Downloads (cache, checksums, zips, failures), WFS GetFeature URLs, the file formats, and
single-file levels whose parents come from spatial containment."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
from conftest import SRID, table_counts
from geodata import X0, Y0, grid, write
from shapely.geometry import box
from sqlalchemy import text

from ingest.errors import DownloadError, IngestError
from ingest.jobs import FileLevel, ingest_file
from ingest.manifest import Source
from ingest.readers import FieldMap
from ingest.sources import resolve_source
from spatial.settings import DataSettings


def test_download_is_cached_and_checksum_verified(server, data_settings):
    base, root, requests = server
    write(grid(["01", "02"]), root / "areas.geojson")
    digest = hashlib.sha256((root / "areas.geojson").read_bytes()).hexdigest()
    source = Source(
        title="Test areas", urls=[f"{base}/broken", f"{base}/areas.geojson"], sha256=digest
    )
    path = resolve_source(source, data_settings)
    assert path.exists() and path.suffix == ".geojson"
    assert requests == ["/broken", "/areas.geojson"]  # the first URL failed, the fallback won
    assert resolve_source(source, data_settings) == path
    assert len(requests) == 2, "the second call must come from the cache"


def test_checksum_mismatch_and_every_url_failing(server, data_settings):
    base, root, _ = server
    write(grid(["01"]), root / "areas.geojson")
    source = Source(
        title="Test areas",
        urls=[f"{base}/areas.geojson", f"{base}/missing.zip", "http://127.0.0.1:9/closed"],
        sha256="0" * 64,
        landing_page="https://example.org/data",
    )
    with pytest.raises(DownloadError) as caught:
        resolve_source(source, data_settings)
    message = str(caught.value)
    assert "'Test areas'" in message
    assert "checksum" in message and "404" in message and "127.0.0.1:9" in message
    assert "download it manually from https://example.org/data" in message
    assert "\n" not in message
    assert not (data_settings.cache_dir / "test-areas").exists()


def test_zip_download_picks_the_member(server, data_settings):
    base, root, _ = server
    shp = write(grid(["01", "02", "03"]), root / "lor.shp")
    with zipfile.ZipFile(root / "lor.zip", "w") as bundle:
        for part in root.glob("lor.*"):
            if part.suffix != ".zip":
                bundle.write(part, f"LOR/{part.name}")
    source = Source(title="Zipped", urls=[f"{base}/lor.zip"], member=shp.name)
    path = resolve_source(source, data_settings)
    assert path.name == "lor.shp" and path.with_suffix(".dbf").exists()


def test_mirror_never_downloads(tmp_path):
    settings = DataSettings(data_mirror=tmp_path, cache_dir=tmp_path / "cache")
    source = Source(
        title="Only online", mirror_path="x/areas.shp", urls=["http://127.0.0.1:9/never"]
    )
    with pytest.raises(IngestError, match="missing file for data set 'Only online' in the mirror"):
        resolve_source(source, settings)


def test_wfs_getfeature_url_loads_a_level(server, engine, data_settings):
    base, root, requests = server
    write(grid(["0101", "0102", "0201", "0202"]), root / "app_stadtteile.geojson")
    url = (
        f"{base}/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature"
        "&TYPENAMES=app_stadtteile&OUTPUTFORMAT=application/json"
    )
    spec = FileLevel(
        system="hamburg-test",
        level="stadtteil",
        level_name="Stadtteil",
        city="Hamburg",
        fields=FieldMap(code_field="code", name_field="name"),
    )
    result = ingest_file(engine, url, spec, data_settings, srid=SRID)
    assert result.summary[0]["features"] == 4
    assert requests[-1].startswith("/wfs?")


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [
        (".shp", None),
        (".geojson", None),
        (".gpkg", None),
        (".fgb", "FlatGeobuf"),
    ],
)
def test_formats(engine, tmp_path, data_settings, suffix, driver):
    path = write(grid(["01", "02", "03"]), tmp_path / f"areas{suffix}", driver=driver)
    spec = FileLevel(
        system="fmt", level="area", fields=FieldMap(code_field="CODE", name_field="Name")
    )
    result = ingest_file(engine, str(path), spec, data_settings, srid=SRID)
    assert result.summary[0]["features"] == 3
    assert result.summary[0]["area_km2"] == pytest.approx(3.0)


def test_levels_from_files_nest_by_containment(engine, tmp_path, data_settings):
    """Two levels without shared code structure: parents by largest overlap."""
    coarse = write(grid(["West", "East"], size=2000, columns=2), tmp_path / "districts.gpkg")
    fine = write(grid([f"q{i}" for i in range(8)], size=1000, columns=4), tmp_path / "q.gpkg")
    base = {"system": "anytown", "city": "Anytown", "system_name": "Anytown quarters"}
    result, parents = _load_nested(engine, data_settings, base, coarse, ("quarter", fine))
    with engine.connect() as conn:
        ranks = dict(conn.execute(text("SELECT key, rank FROM region_levels")).all())
    assert ranks == {"district": 0, "quarter": 1}
    # Quarters 0,1,4,5 lie in the western 2 km square, 2,3,6,7 in the eastern one.
    assert {c for c, p in parents.items() if p == "West"} == {"q0", "q1", "q4", "q5"}
    assert {c for c, p in parents.items() if p == "East"} == {"q2", "q3", "q6", "q7"}
    assert all(check.ok for check in result.checks)


def test_reloading_a_changed_level_needs_force(engine, tmp_path, data_settings):
    path = write(grid(["01", "02"]), tmp_path / "a.gpkg")
    spec = FileLevel(system="t", level="a", fields=FieldMap("code", "name"))
    ingest_file(engine, str(path), spec, data_settings, srid=SRID)
    assert ingest_file(engine, str(path), spec, data_settings, srid=SRID).skipped
    write(grid(["01", "02", "03"]), tmp_path / "a2.gpkg")
    before = table_counts(engine)
    with pytest.raises(IngestError, match=r"already loaded from different data.*--force"):
        ingest_file(engine, str(tmp_path / "a2.gpkg"), spec, data_settings, srid=SRID)
    assert table_counts(engine) == before
    result = ingest_file(
        engine, str(tmp_path / "a2.gpkg"), spec, data_settings, srid=SRID, force=True
    )
    assert result.summary[0]["features"] == 3
    assert table_counts(engine)["regions"] == 3


def test_a_straddling_region_gets_the_parent_it_overlaps_most(engine, tmp_path, data_settings):
    """Regions a parent covers take it without measuring; one that straddles the border is
    measured and goes to the parent with the larger share, whatever its corner lies in."""
    coarse = write(grid(["West", "East"], size=2000, columns=2), tmp_path / "districts.gpkg")
    fine = grid(["inside", "straddling"], size=1000, columns=2)
    # 'straddling' spans x = 1.6–2.6 km: 0.4 km² in West, 0.6 km² in East
    fine.loc[1, "geometry"] = box(X0 + 1600, Y0, X0 + 2600, Y0 + 1000)
    base = {"system": "border", "city": "Bordertown"}
    fine_path = write(fine, tmp_path / "fine.gpkg")
    _, parents = _load_nested(engine, data_settings, base, coarse, ("block", fine_path))
    assert parents == {"inside": "West", "straddling": "East"}


def _load_nested(engine, data_settings, base: dict, districts, fine: tuple) -> tuple:
    """Load ``districts`` as level 'district', then the file of ``fine = (level, path)``
    below it; returns the second load's result and the fine level's parent codes."""
    ingest_file(
        engine,
        str(districts),
        FileLevel(level="district", fields=FieldMap("code", "name"), **base),
        data_settings,
        srid=SRID,
    )
    level, path = fine
    result = ingest_file(
        engine,
        str(path),
        FileLevel(level=level, fields=FieldMap("code", "name"), **base),
        data_settings,
        srid=SRID,
    )
    with engine.connect() as conn:
        parents = dict(
            conn.execute(
                text(
                    "SELECT r.code, r.parent_code FROM regions r "
                    "JOIN region_levels l ON l.id = r.level_id WHERE l.key = :level"
                ),
                {"level": level},
            ).all()
        )
    return result, parents
