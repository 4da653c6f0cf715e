"""Small generated boundary files for tests where real data is not the point."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon, box

from spatial.settings import PROJECT_ROOT, DataSettings

X0, Y0 = 390_000.0, 5_820_000.0  # central Berlin in EPSG:25833


def grid(
    codes: list[str],
    size: float = 1000.0,
    names: list[str] | None = None,
    columns: int = 2,
    **extra,
) -> gpd.GeoDataFrame:
    """Adjacent squares (a clean coverage), one per code, in EPSG:25833."""
    geoms = [
        box(
            X0 + (i % columns) * size,
            Y0 + (i // columns) * size,
            X0 + (i % columns + 1) * size,
            Y0 + (i // columns + 1) * size,
        )
        for i in range(len(codes))
    ]
    data = {"code": codes, "name": names or [f"Gebiet {c}" for c in codes], **extra}
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:25833")


def bowtie(code: str = "01") -> gpd.GeoDataFrame:
    """A self-intersecting polygon (figure eight)."""
    shape = Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    return gpd.GeoDataFrame(
        {"code": [code], "name": ["Achter"]}, geometry=[shape], crs="EPSG:25833"
    )


def points(codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, "name": codes},
        geometry=[Point(X0 + i, Y0) for i in range(len(codes))],
        crs="EPSG:25833",
    )


def write(frame: gpd.GeoDataFrame, path: Path, driver: str | None = None) -> Path:
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


# -- facility sources ------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{toml_value(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    return json.dumps(value, ensure_ascii=False)


def settings_for(tmp_path: Path, filename: str, **fields) -> DataSettings:
    """A facility source 'mini' over ``filename`` in a mirror at ``tmp_path``."""
    source = {"crs": fields.pop("crs")} if "crs" in fields else {}
    lines = [
        'key = "mini"',
        'title = "Mini"',
        'valid_on = "2024-06-30"',
        *[f"{k} = {toml_value(v)}" for k, v in fields.items()],
        "[source]",
        'title = "Mini"',
        f'mirror_path = "{filename}"',
        *[f"{k} = {json.dumps(v)}" for k, v in source.items()],
    ]
    (tmp_path / "fac").mkdir(exist_ok=True)
    (tmp_path / "fac" / "mini.toml").write_text("\n".join(lines), encoding="utf-8")
    return DataSettings(
        data_mirror=tmp_path,
        facilities_dir=tmp_path / "fac",
        facility_categories_file=PROJECT_ROOT / "data" / "facility_categories.toml",
        cache_dir=tmp_path / "cache",
    )


KITA_FIELDS = {
    "category": "kita",
    "id_field": "nr",
    "name_field": "name",
    "capacity_field": "plaetze",
}


def kitas(geoms, plaetze) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "nr": [f"K{i}" for i in range(len(geoms))],
            "name": [f"Kita {i}" for i in range(len(geoms))],
            "plaetze": plaetze,
        },
        geometry=geoms,
        crs="EPSG:25833",
    )


def load_town(engine, tmp_path: Path, settings: DataSettings, srid: int) -> None:
    """Region system 'town': one Bezirksregion 0101 of three 1 km squares in a row (PLR
    010101, 010102, 010103 from west to east)."""
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    base = {"system": "town", "city": "Town", "system_name": "Town"}
    layers = (
        ("bzr", grid(["0101"], size=3000, columns=1)),
        ("plr", grid(["010101", "010102", "010103"], size=1000, columns=3)),
    )
    for level, frame in layers:
        ingest_file(
            engine,
            str(write(frame, tmp_path / f"town-{level}.gpkg")),
            FileLevel(level=level, fields=FieldMap("code", "name"), **base),
            settings,
            srid=srid,
        )


def load_town_values(engine, path: Path, settings: DataSettings, columns: dict, period, **flags):
    """Load a table of the town's Planungsräume (codes in ``Nr``) with the shared catalog."""
    from ingest.statistics import ingest_statistics_file

    return ingest_statistics_file(
        engine,
        str(path),
        settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}),
        system="town",
        level="plr",
        code_column="Nr",
        columns=columns,
        period=period,
        **flags,
    )
