"""The bad-input corpus: boundary files, statistics tables, facility sources and API requests
that must be refused, each with a clear message naming the file and the line, feature or field
(or, for the API, the field of the body), and with nothing written: the row count of every
table of the store is the same before and after. One generated town is the store (no data
mirror needed); every case runs against it, so a case that wrote would show in the next."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import SRID, create_database
from fastapi.testclient import TestClient
from geodata import KITA_FIELDS, X0, Y0, grid, kitas, load_town, settings_for, write
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, Point, box
from sqlalchemy import text

from accounts.tokens import create_token
from accounts.users import add_user
from ingest.errors import IngestError
from ingest.facilities import ingest_facilities
from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from ingest.statistics import ingest_statistics_file
from spatial import store as stores
from spatial.settings import PROJECT_ROOT, DataSettings, StoreSettings
from spatial.store import make_engine
from web.app import create_app
from web.settings import Settings, WebSettings

TO_WGS = Transformer.from_crs(SRID, 4326, always_xy=True)
PLR = ["010101", "010102", "010103"]
PERIOD = date(2024, 12, 31)


@pytest.fixture(scope="module")
def corpus(cluster, tmp_path_factory) -> Iterator[tuple]:
    """The town (Bezirksregion 0101, three Planungsräume) with inhabitants, an admin and his
    token; (engine, client, token)."""
    folder = tmp_path_factory.mktemp("corpus")
    url = create_database(cluster)
    engine = make_engine(url)
    settings = DataSettings(data_mirror=None, cache_dir=folder / "cache")
    load_town(engine, folder, settings, SRID)
    table = folder / "ew.csv"
    table.write_text("Nr;EW\n010101;1000\n010102;2000\n010103;3000\n", encoding="utf-8")
    _statistics(engine, table, {"EW": "inhabitants"}, settings)
    with engine.begin() as conn:
        add_user(conn, "korpus", "ein-gutes-passwort", "admin")
        token = create_token(conn, "korpus", "corpus")
    app = create_app(
        Settings(web=WebSettings(refresh_store=False), store=StoreSettings(database_url=url))
    )
    with TestClient(app) as client:
        yield engine, client, token
    engine.dispose()
    stores.drop_database(url)


def _statistics(engine, path: Path, columns: dict, settings: DataSettings, **options):
    return ingest_statistics_file(
        engine,
        str(path),
        settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}),
        system="town",
        level=options.pop("level", "plr"),
        code_column=options.pop("code_column", "Nr"),
        columns=columns,
        period=options.pop("period", PERIOD),
        **options,
    )


def every_table(engine) -> dict[str, int]:
    """Row counts of every table of the store."""
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys' ORDER BY 1"
            )
        ).scalars()
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


# -- boundary files ---------------------------------------------------------------------------

Job = Callable[[object, Path], Callable[[], object]]


def _boundary(frame_or_path, name: str, **fields) -> Job:
    """Load ``frame_or_path`` (a frame written as ``name``, or a writer of the file) as level
    'plr' of a new system 'probe'."""
    level = fields.pop("level", "plr")

    def job(engine, folder: Path):
        path = folder / name
        if callable(frame_or_path):
            frame_or_path(path)
        else:
            write(frame_or_path, path)
        field_map = FieldMap(
            fields.pop("code_field", "code"), fields.pop("name_field", "name"), **fields
        )
        settings = DataSettings(data_mirror=None, cache_dir=folder / "cache")
        return lambda: ingest_file(
            engine, str(path), FileLevel("probe", level, field_map), settings, srid=SRID
        )

    return job


def _raw(content: bytes | str) -> Callable[[Path], None]:
    def writer(path: Path) -> None:
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)

    return writer


def _geojson(*features: tuple[dict, dict | None]) -> Callable[[Path], None]:
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    return _raw(json.dumps(collection))


def _without(frame_writer_suffix: str, frame) -> Callable[[Path], None]:
    def writer(path: Path) -> None:
        write(frame, path)
        path.with_suffix(frame_writer_suffix).unlink()

    return writer


def _square(lon=13.40, lat=52.50, d=0.01) -> list:
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


def _town(codes=PLR, **columns):
    frame = grid(list(codes), columns=3)
    for name, values in columns.items():
        frame[name] = values
    return frame


def _swapped():
    frame = grid(PLR, columns=3).to_crs(4326)
    frame["geometry"] = frame.geometry.map(
        lambda g: type(g)([(y, x) for x, y in g.exterior.coords])
    )
    return frame


def _tiny():
    frame = _town()
    frame.loc[1, "geometry"] = box(X0, Y0, X0 + 0.5, Y0 + 0.5)
    return frame


def _points():
    return gpd.GeoDataFrame(
        {"code": PLR, "name": PLR}, geometry=[Point(X0 + i, Y0) for i in range(3)], crs=SRID
    )


BOUNDARIES = {
    "file missing": (
        lambda e, f: (
            lambda: ingest_file(
                e,
                str(f / "fehlt.gpkg"),
                FileLevel("probe", "plr", FieldMap("code", "name")),
                DataSettings(data_mirror=None, cache_dir=f / "cache"),
                srid=SRID,
            )
        ),
        ["fehlt.gpkg", "file not found"],
    ),
    "not a vector file": (
        _boundary(_raw(b"\x00\x01garbage" * 50), "kaputt.gpkg"),
        ["kaputt.gpkg", "cannot read the file"],
    ),
    "no features": (
        _boundary(_raw('{"type":"FeatureCollection","features":[]}'), "leer.geojson"),
        ["leer.geojson", "no features"],
    ),
    "no crs": (
        _boundary(_without(".prj", _town()), "ohne-prj.shp"),
        ["ohne-prj.shp", "has no CRS"],
    ),
    "unknown crs": (
        _boundary(_without(".prj", _town()), "falsch.shp", crs="EPSG:999999"),
        ["falsch.shp", "unknown CRS 'EPSG:999999'"],
    ),
    "degrees as web mercator": (
        _boundary(_town().to_crs(4326).set_crs(3857, allow_override=True), "grad.gpkg"),
        ["grad.gpkg", "look like degrees", "EPSG:3857"],
    ),
    "lon/lat as utm": (
        _boundary(_town().to_crs(4326).set_crs(SRID, allow_override=True), "utm.gpkg"),
        ["utm.gpkg", "area of use"],
    ),
    "code field missing": (
        _boundary(_town(), "feld.gpkg", code_field="schluessel"),
        ["feld.gpkg", "field 'schluessel'", "no such field"],
    ),
    "name field missing": (
        _boundary(_town(), "name.gpkg", name_field="bezeichnung"),
        ["name.gpkg", "field 'bezeichnung'"],
    ),
    "parent field missing": (
        _boundary(_town(), "eltern.gpkg", parent_field="bzr"),
        ["eltern.gpkg", "field 'bzr'"],
    ),
    "empty code": (
        _boundary(_town(code=["010101", "", "010103"]), "leer-code.gpkg"),
        ["leer-code.gpkg", "feature 1", "field 'code'", "empty code"],
    ),
    "duplicate code": (
        _boundary(_town(code=["010101", "010101", "010103"]), "doppelt.gpkg"),
        ["doppelt.gpkg", "duplicate code '010101'", "feature 0", "feature 1"],
    ),
    "code of wrong length": (
        _boundary(_town(code=["010101", "0101020", "010103"]), "lang.gpkg", code_length=6),
        ["lang.gpkg", "feature 1", "field 'code'", "has 7 characters"],
    ),
    "points, not polygons": (
        _boundary(_points(), "punkte.gpkg"),
        ["punkte.gpkg", "feature 0", "Point is not a polygon"],
    ),
    "feature without geometry": (
        _boundary(
            _geojson(
                ({"code": "01", "name": "A"}, {"type": "Polygon", "coordinates": [_square()]}),
                ({"code": "02", "name": "B"}, None),
            ),
            "ohne-geometrie.geojson",
            level="bezirk",
        ),
        ["ohne-geometrie.geojson", "feature 1", "has no geometry"],
    ),
    "region under a square metre": (
        _boundary(_tiny(), "winzig.gpkg"),
        ["winzig.gpkg", "feature 1", "'010102' has an area of"],
    ),
    "unclosed ring": (
        _boundary(
            _geojson(
                ({"code": "01", "name": "A"}, {"type": "Polygon", "coordinates": [_square()[:-1]]})
            ),
            "offen.geojson",
            level="bezirk",
        ),
        ["offen.geojson", "feature 0", "code = '01'", "a ring is not closed"],
    ),
    "shapefile without dbf": (
        _boundary(_without(".dbf", _town()), "ohne-dbf.shp"),
        ["ohne-dbf.shp", "ohne-dbf.dbf is missing"],
    ),
    "exchanged axes": (
        _boundary(_swapped(), "vertauscht.geojson"),
        ["vertauscht.geojson", "the axes seem exchanged", "feature"],
    ),
    "a line, not a polygon": (
        _boundary(
            gpd.GeoDataFrame(
                {"code": PLR, "name": PLR},
                crs=SRID,
                geometry=[LineString([(X0 + i, Y0), (X0 + i + 10, Y0 + 10)]) for i in range(3)],
            ),
            "linien.gpkg",
        ),
        ["linien.gpkg", "feature 0", "LineString is not a polygon"],
    ),
}


# -- statistics tables ------------------------------------------------------------------------


def _table(rows: list[str], columns=None, name="werte.csv", encoding="utf-8", **options) -> Job:
    def job(engine, folder: Path):
        path = folder / name
        path.write_bytes("\n".join(rows).encode(encoding))
        settings = DataSettings(data_mirror=None, cache_dir=folder / "cache")
        mapping = columns or {"EW": "inhabitants"}
        return lambda: _statistics(engine, path, mapping, settings, **options)

    return job


STATISTICS = {
    "unknown region": (
        _table(["Nr;EW", "010101;5", "019999;7"]),
        ["werte.csv line 3", "019999", "do not exist in town/plr"],
    ),
    "not a number": (
        _table(["Nr;EW", "010101;viele"]),
        ["werte.csv", "line 2", "field 'EW'", "value 'viele'", "not a number"],
    ),
    "duplicate row": (
        _table(["Nr;EW", "010101;5", "010101;6"]),
        ["duplicate row for region 010101", "werte.csv line 2", "line 3"],
    ),
    "negative count": (
        _table(["Nr;EW", "010101;-5"]),
        ["werte.csv", "line 2", "inhabitants", "-5"],
    ),
    "infinite number": (
        _table(["Nr;EW", "010101;1e400"]),
        ["werte.csv", "line 2", "field 'EW'", "not a finite number"],
    ),
    "share over 100": (
        _table(["Nr;Anteil", "010101;140"], columns={"Anteil": "share_age_above_65"}),
        ["werte.csv", "line 2", "share_age_above_65", "140"],
    ),
    "code column missing": (_table(["Schluessel;EW", "010101;5"]), ["werte.csv", "Nr"]),
    "mapped column missing": (_table(["Nr;Bewohner", "010101;5"]), ["werte.csv", "EW"]),
    "unknown indicator": (
        _table(["Nr;EW", "010101;5"], columns={"EW": "einwohnerzahl"}),
        ["einwohnerzahl"],
    ),
    "no rows": (_table(["Nr;EW"]), ["werte.csv", "header (Nr, EW) but no rows of data"]),
    "empty file": (_table([""]), ["werte.csv"]),
    "another source's values": (
        _table(["Nr;EW", "010101;1"], name="andere.csv"),
        ["file-andere-2024-12-31 would overwrite", "file-ew-2024-12-31", "--replace"],
    ),
    "unknown level": (_table(["Nr;EW", "010101;5"], level="ortsteil"), ["ortsteil"]),
    "code of another level": (
        _table(["Nr;EW", "0101;5"]),
        ["werte.csv line 2", "0101", "do not exist in town/plr"],
    ),
    "unreadable spreadsheet": (_table(["kein excel"], name="tabelle.xlsx"), ["tabelle.xlsx"]),
}


# -- facility sources -------------------------------------------------------------------------


def _facilities(writer: Callable[[Path], str], **fields) -> Job:
    def job(engine, folder: Path):
        name = writer(folder)
        settings = settings_for(folder, name, **{**KITA_FIELDS, **fields})
        return lambda: ingest_facilities(engine, "mini", settings, srid=SRID)

    return job


def _kita_file(geoms, name="kitas.geojson", **columns) -> Callable[[Path], str]:
    def writer(folder: Path) -> str:
        frame = kitas(geoms, ["40"] * len(geoms))
        for column, values in columns.items():
            frame[column] = values
        write(frame, folder / name)
        return name

    return writer


def _kita_table(rows: list[str], name="kitas.csv") -> Callable[[Path], str]:
    def writer(folder: Path) -> str:
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
        return name

    return writer


def _lonlat(x, y, swap=False) -> str:
    lon, lat = TO_WGS.transform(x, y)
    return f"{lat:.6f};{lon:.6f}" if swap else f"{lon:.6f};{lat:.6f}"


HERE = [Point(X0 + 300, Y0 + 400), Point(X0 + 1300, Y0 + 600)]
FACILITIES = {
    "duplicate id": (
        _facilities(_kita_file(HERE, nr=["K1", "K1"])),
        ["kitas.geojson", "duplicate id 'K1'"],
    ),
    "empty id": (
        _facilities(_kita_file(HERE, nr=["K1", None])),
        ["kitas.geojson", "feature 1", "empty id"],
    ),
    "unknown category": (
        _facilities(_kita_file(HERE), category="zoo"),
        ["unknown facility categories zoo"],
    ),
    "multipoint of two": (
        _facilities(_kita_file([MultiPoint([(X0, Y0), (X0 + 9, Y0)]), HERE[0]])),
        ["kitas.geojson", "feature 0", "MultiPoint", "2 points"],
    ),
    "a line": (
        _facilities(_kita_file([LineString([(X0, Y0), (X0 + 9, Y0)]), HERE[0]])),
        ["kitas.geojson", "feature 0", "LineString", "not a point"],
    ),
    "table without crs": (
        _facilities(
            _kita_table(["nr;name;plaetze;x;y", f"K1;Kita;40;{_lonlat(X0, Y0)}"]),
            x_field="x",
            y_field="y",
        ),
        ["kitas.csv", "no CRS"],
    ),
    "not a coordinate": (
        _facilities(
            _kita_table(["nr;name;plaetze;x;y", "K1;Kita;40;x;52.5"]),
            x_field="x",
            y_field="y",
            crs="EPSG:4326",
        ),
        ["kitas.csv", "feature 0", "field 'x'", "not a coordinate"],
    ),
    "coordinate column missing": (
        _facilities(
            _kita_table(["nr;name;plaetze;lon;lat", "K1;Kita;40;13.4;52.5"]),
            x_field="x",
            y_field="y",
            crs="EPSG:4326",
        ),
        ["kitas.csv", "field 'x'", "no such column"],
    ),
    "lon/lat labelled utm": (
        _facilities(
            _kita_table(["nr;name;plaetze;x;y", f"K1;Kita;40;{_lonlat(X0, Y0)}"]),
            x_field="x",
            y_field="y",
            crs=f"EPSG:{SRID}",
        ),
        ["kitas.csv", "area of use"],
    ),
    "exchanged axes": (
        _facilities(
            _kita_table(
                ["nr;name;plaetze;x;y"]
                + [f"K{i};Kita;40;{_lonlat(p.x, p.y, swap=True)}" for i, p in enumerate(HERE)]
            ),
            x_field="x",
            y_field="y",
            crs="EPSG:4326",
        ),
        ["kitas.csv", "the axes seem exchanged", "2 of 2 facilities"],
    ),
    "id field missing": (
        _facilities(_kita_file(HERE), id_field="kennung"),
        ["kitas.geojson", "field 'kennung'"],
    ),
    "mirror path outside the mirror": (
        _facilities(lambda folder: "../ausserhalb.csv"),
        ["inside the mirror", "'../ausserhalb.csv'"],
    ),
}

INGEST = {
    **{f"boundaries: {k}": v for k, v in BOUNDARIES.items()},
    **{f"statistics: {k}": v for k, v in STATISTICS.items()},
    **{f"facilities: {k}": v for k, v in FACILITIES.items()},
}


@pytest.mark.parametrize("case", list(INGEST))
def test_a_refused_file_names_where_and_writes_nothing(corpus, tmp_path, case):
    engine, _, _ = corpus
    make_job, fragments = INGEST[case]
    before = every_table(engine)
    with pytest.raises((IngestError, ValueError)) as refused:
        make_job(engine, tmp_path)()
    message = str(refused.value)
    for fragment in fragments:
        assert fragment in message, f"{case}: {fragment!r} not in {message!r}"
    assert every_table(engine) == before, f"{case} wrote something"


# -- API requests -----------------------------------------------------------------------------


def _polygon(dx=500, dy=500, d=200, close=True) -> dict:
    corners = [(dx, dy), (dx + d, dy), (dx + d, dy + d), (dx, dy + d)]
    ring = [list(TO_WGS.transform(X0 + x, Y0 + y)) for x, y in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]] if close else ring]}


def _project(**overrides) -> dict:
    body = {"title": "Garten", "status": "Idee", "topic": "Nachbarschaft", "geometry": _polygon()}
    return {**body, **overrides}


EVENT = {
    "type": "Runder Tisch",
    "title": "Runde",
    "held_on": "2030-05-06",
    "system": "town",
    "regions": ["0101"],
}
API = {
    "project: unknown status": (
        "POST",
        "/api/projects",
        _project(status="fertig"),
        ["status", "unknown status"],
    ),
    "project: unknown topic": (
        "POST",
        "/api/projects",
        _project(topic="Raumfahrt"),
        ["topic", "unknown topic"],
    ),
    "project: ends before it starts": (
        "POST",
        "/api/projects",
        _project(start_date="2026-05-01", end_date="2026-04-30"),
        ["before the start date"],
    ),
    "project: latitude first": (
        "POST",
        "/api/projects",
        _project(
            geometry={
                "type": "Point",
                "coordinates": list(reversed(TO_WGS.transform(X0 + 500, Y0 + 500))),
            }
        ),
        ["geometry", "latitude, longitude"],
    ),
    "project: metres as degrees": (
        "POST",
        "/api/projects",
        _project(geometry={"type": "Point", "coordinates": [X0, Y0]}),
        ["geometry", "projected metres"],
    ),
    "project: outside the city": (
        "POST",
        "/api/projects",
        _project(geometry={"type": "Point", "coordinates": [9.99, 53.5]}),
        ["geometry", "outside the city"],
    ),
    "project: empty geometry": (
        "POST",
        "/api/projects",
        _project(geometry={"type": "LineString", "coordinates": []}),
        ["geometry", "empty"],
    ),
    "project: open ring": (
        "POST",
        "/api/projects",
        _project(geometry=_polygon(close=False)),
        ["geometry", "ring 1 is not closed"],
    ),
    "project: unknown crs": (
        "POST",
        "/api/projects",
        _project(crs="EPSG:999999"),
        ["crs", "unsupported crs"],
    ),
    "project: not geojson": (
        "POST",
        "/api/projects",
        _project(geometry={"x": 1}),
        ["geometry", "GeoJSON"],
    ),
    "project: title missing": (
        "POST",
        "/api/projects",
        {k: v for k, v in _project().items() if k != "title"},
        ["title", "Field required"],
    ),
    "project: nul byte": ("POST", "/api/projects", _project(title="a\x00b"), ["invalid input"]),
    "event: unknown region": (
        "POST",
        "/api/events",
        {**EVENT, "regions": ["0199"]},
        ["unknown region code(s) in town: 0199"],
    ),
    "event: unknown system": (
        "POST",
        "/api/events",
        {**EVENT, "system": "nirgendwo"},
        ["unknown region system 'nirgendwo'"],
    ),
    "event: negative participants": (
        "POST",
        "/api/events",
        {**EVENT, "participants": -3},
        ["participants"],
    ),
    "event: unknown type": (
        "POST",
        "/api/events",
        {**EVENT, "type": "Party"},
        ["type", "event type"],
    ),
    "user: bad name": (
        "POST",
        "/api/users",
        {"username": "Großer Name", "password": "x" * 12, "role": "viewer"},
        ["user name 'Großer Name'"],
    ),
    "user: short password": (
        "POST",
        "/api/users",
        {"username": "kurz", "password": "kurz", "role": "viewer"},
        ["at least 10 characters"],
    ),
    "user: unknown role": (
        "POST",
        "/api/users",
        {"username": "rolle", "password": "x" * 12, "role": "kaiser"},
        ["unknown role 'kaiser'"],
    ),
    "user: coordinator without district": (
        "POST",
        "/api/users",
        {"username": "ohne", "password": "x" * 12, "role": "coordinator"},
        ["needs at least one district"],
    ),
    "user: unknown district": (
        "POST",
        "/api/users",
        {"username": "fremd", "password": "x" * 12, "role": "coordinator", "districts": ["77"]},
        ["unknown district(s): 77"],
    ),
    "token: a life of 0 days": ("POST", "/api/me/tokens", {"name": "null", "days": 0}, ["days"]),
    "token: no name": ("POST", "/api/me/tokens", {"name": ""}, ["name"]),
}


@pytest.mark.parametrize("case", list(API))
def test_a_refused_request_says_why_and_writes_nothing(corpus, case):
    engine, client, token = corpus
    method, path, body, fragments = API[case]
    before = every_table(engine)
    answer = client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, f"{case}: {answer.status_code} {answer.text}"
    detail = json.dumps(answer.json(), ensure_ascii=False)
    for fragment in fragments:
        assert fragment in detail, f"{case}: {fragment!r} not in {detail}"
    assert every_table(engine) == before, f"{case} wrote something"


def test_the_corpus_has_at_least_sixty_cases():
    assert len(INGEST) + len(API) >= 60, len(INGEST) + len(API)
