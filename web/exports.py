"""Layer exports as files GIS staff and spreadsheet users open directly: GeoJSON (RFC 7946, or in
a projected CRS marked as not RFC 7946), GeoPackage, FlatGeobuf, zipped Shapefile and CSV.

Files are written in the CRS asked for (``crs``), else in the official CRS of the city the
layer belongs to (its pack's ``official_crs``); RFC 7946 GeoJSON is always WGS 84, CSV is WGS 84
unless a CRS is asked for.

PostGIS selects and transforms the features (``spatial.features.wkb_rows``) and GDAL (pyogrio)
writes the formats; this module only chooses the options, names the file after what it holds
and puts the sources' attribution and licence into each file (GeoJSON foreign members,
GeoPackage metadata, FlatGeobuf title/description, a README in zips)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from sqlalchemy.engine import Connection

from layers.errors import InvalidParameter
from spatial.crs import UnknownCrs, epsg_code
from spatial.features import FeatureQuery, FeatureSource, Field, geojson_features, wkb_rows
from spatial.licences import Licence
from web.csv_export import PROFILES, CsvStyle, write_csv_zip


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    suffix: str
    media_type: str
    driver: str


FORMATS = {
    f.key: f
    for f in (
        Format(
            "geojson", "GeoJSON (RFC 7946, WGS 84)", ".geojson", "application/geo+json", "GeoJSON"
        ),
        Format(
            "geojson-crs",
            "GeoJSON im amtlichen Bezugssystem der Stadt oder in crs= (nicht RFC 7946)",
            "_epsg{srid}.geojson",
            "application/geo+json",
            "GeoJSON",
        ),
        Format("gpkg", "GeoPackage", ".gpkg", "application/geopackage+sqlite3", "GPKG"),
        Format("fgb", "FlatGeobuf", ".fgb", "application/flatgeobuf", "FlatGeobuf"),
        Format("shp", "Shapefile (zip)", ".shp.zip", "application/zip", "ESRI Shapefile"),
        Format(
            "csv",
            "CSV (zip: Tabelle, .csvt, Quellen; Excel-Profil oder csv_profile=plain)",
            ".csv.zip",
            "application/zip",
            "CSV",
        ),
    )
}
SHAPEFILE_FIELD_CHARS = 10
_GEOMETRY_GROUPS = {  # shapefiles hold one geometry type each
    "Point": "points",
    "MultiPoint": "points",
    "LineString": "lines",
    "MultiLineString": "lines",
    "Polygon": "polygons",
    "MultiPolygon": "polygons",
}

_GROUP_TYPES = {"points": "MultiPoint", "lines": "MultiLineString", "polygons": "MultiPolygon"}


@dataclass(frozen=True)
class ExportOptions:
    format: str = "gpkg"
    precision: int = 6  # decimals of WGS 84 coordinates in GeoJSON (6 ≈ 0.1 m)
    csv_profile: str = "excel"  # or "plain"; the three below default to what it says
    csv_geometry: str | None = None  # "xy" (a point on the surface of lines, areas) or "wkt"
    csv_decimal: str | None = None  # "comma" (then the separator is a semicolon) or "point"
    csv_bom: bool | None = None
    srid: int | None = None  # asked for; else the city's official CRS (WGS 84 for CSV)

    def __post_init__(self) -> None:
        legacy = re.fullmatch(r"geojson-(\d{4,6})", self.format)
        if legacy and self.format not in FORMATS:  # geojson-<EPSG code>: in that CRS
            object.__setattr__(self, "format", "geojson-crs")
            object.__setattr__(self, "srid", self.srid or int(legacy.group(1)))
        if self.srid is not None:
            parse_export_crs(str(self.srid))
        if self.format not in FORMATS:
            raise InvalidParameter(f"unknown format {self.format!r}; formats: {', '.join(FORMATS)}")
        if not 0 <= self.precision <= 15:
            raise InvalidParameter("precision must be between 0 and 15 decimals")
        if self.csv_profile not in PROFILES:
            raise InvalidParameter(f"csv profile must be one of {', '.join(PROFILES)}")
        if self.csv_geometry not in (None, "wkt", "xy"):
            raise InvalidParameter("csv geometry must be 'wkt' or 'xy'")
        if self.csv_decimal not in (None, "point", "comma"):
            raise InvalidParameter("csv decimal must be 'point' or 'comma'")

    def csv_style(self) -> CsvStyle:
        return CsvStyle(self.csv_profile, self.csv_geometry, self.csv_decimal, self.csv_bom)


def parse_export_crs(raw: str | None) -> int | None:
    """The ``crs`` of an export (``EPSG:<code>``, an OGC URI, ``CRS84``) → an EPSG code."""
    if raw is None or not raw.strip():
        return None
    try:
        return epsg_code(raw)
    except UnknownCrs as exc:
        raise InvalidParameter(str(exc)) from None


def output_srid(options: ExportOptions, source: FeatureSource, default: int | None) -> int:
    """The CRS the file is written in: the one asked for, else WGS 84 for RFC 7946 GeoJSON and
    CSV, else the city's official CRS (``default``), else the storage CRS."""
    if options.format == "geojson":
        return 4326
    if options.srid is not None:
        return options.srid
    if options.format == "csv":
        return 4326
    return default or source.srid


def file_name(source: FeatureSource, options: ExportOptions, srid: int | None = None) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.name).strip("-")
    return stem + FORMATS[options.format].suffix.format(srid=srid or source.srid)


def attribution_members(
    source: FeatureSource, generated: datetime, licences: dict[str, Licence] | None = None
) -> dict:
    """What every export says about itself: title, sources with licences (and the address
    of a licence's text where the catalog knows it), when it was made."""
    known = licences or {}
    return {
        "title": source.title,
        "attribution": source.attribution_text(),
        "sources": [
            {
                "title": a.title,
                "licence": a.licence,
                "attribution": a.attribution,
                **({"licence_url": known[a.licence].url} if a.licence in known else {}),
            }
            for a in source.attributions
        ],
        "generated": generated.isoformat(timespec="seconds"),
        "notes": list(source.notes),
    }


def export_layer(
    conn: Connection,
    source: FeatureSource,
    query: FeatureQuery,
    options: ExportOptions,
    directory: Path,
    default_srid: int | None = None,
    licences: dict[str, Licence] | None = None,
) -> Path:
    """Write the selected features into ``directory`` and return the file's path.
    ``default_srid``: the official CRS of the layer's city; ``licences``: the catalog that
    gives each source's licence its address."""
    fmt = FORMATS[options.format]
    srid = output_srid(options, source, default_srid)
    path = directory / file_name(source, options, srid)
    generated = datetime.now(UTC)
    about = attribution_members(source, generated, licences)
    path.unlink(missing_ok=True)  # GDAL refuses to write over some formats
    if fmt.key == "csv":
        credits = credits_text(about, [path.name.removesuffix(".zip")])
        write_csv_zip(conn, source, query, path, srid, options.csv_style(), credits)
        return path
    if fmt.driver == "GeoJSON":
        path.write_text(
            geojson_document(conn, source, query, options, about, srid), encoding="utf-8"
        )
        return path
    geometries, values = wkb_rows(conn, source, query, srid)
    columns, masks = _columns(source.fields, values)
    names = [f.name for f in source.fields]
    crs = f"EPSG:{srid}"
    if fmt.key == "shp":
        _write_shapefile_zip(path, source, geometries, columns, masks, crs, about)
        return path
    layer_options: dict = {}
    dataset_options: dict = {}
    write = {"dataset_metadata": None, "layer_metadata": None}
    if fmt.key == "gpkg":
        # version 1.2: GDAL 3.6 and QGIS 3.22 warn that 1.4 (today's default) "may only be
        # partially supported"; nothing we write needs more than 1.2
        dataset_options["VERSION"] = "1.2"
        layer_options.update(IDENTIFIER=source.title, DESCRIPTION=about["attribution"])
        metadata = {k: v for k, v in about.items() if isinstance(v, str)}
        metadata["sources"] = json.dumps(about["sources"], ensure_ascii=False)
        write = {"dataset_metadata": metadata, "layer_metadata": metadata}
    elif fmt.key == "fgb":
        layer_options.update(TITLE=source.title, DESCRIPTION=about["attribution"])
    pyogrio.raw.write(
        str(path),
        np.array(geometries, dtype=object),
        columns,
        names,
        field_mask=masks,
        layer=source.name,
        driver=fmt.driver,
        geometry_type=_layer_geometry_type(source.geometry_type),
        crs=crs,
        layer_options=layer_options,
        dataset_options=dataset_options,
        **write,
    )
    return path


def geojson_document(
    conn: Connection,
    source: FeatureSource,
    query: FeatureQuery,
    options: ExportOptions,
    about: dict,
    srid: int = 4326,
) -> str:
    """A GeoJSON FeatureCollection built by PostGIS: RFC 7946 (WGS 84, lon/lat) or, for
    ``geojson-crs``, a projected CRS named in a ``crs`` member and marked as not RFC 7946.
    Attribution, licences and notes travel as foreign members."""
    members = dict(about)
    if options.format == "geojson" or srid == 4326:
        srid, digits = 4326, options.precision
    else:
        digits = 2
        members["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
        members["crs_note"] = (
            f"Coordinates in EPSG:{srid} (metres, easting/northing). Not RFC 7946 GeoJSON, "
            "which requires WGS 84 longitude/latitude."
        )
    features, _, _ = geojson_features(conn, source, query, srid, digits)
    head = json.dumps(
        {"type": "FeatureCollection", "name": source.name, **members}, ensure_ascii=False
    )
    return head[:-1] + ', "features": [' + features + "]}"


def _layer_geometry_type(kind: str) -> str:
    return "Unknown" if kind == "Geometry" else kind


def _columns(fields: tuple[Field, ...], values: dict[str, list]) -> tuple[list, list]:
    """Typed numpy columns and their null masks, as pyogrio writes them."""
    columns, masks = [], []
    for f in fields:
        raw = values[f.name]
        missing = np.array([v is None for v in raw], dtype=bool)
        if f.kind == "int":
            column = np.array([0 if v is None else int(v) for v in raw], dtype=np.int64)
        elif f.kind == "float":
            column = np.array([np.nan if v is None else float(v) for v in raw], dtype=float)
        elif f.kind == "bool":
            column = np.array([bool(v) for v in raw], dtype=bool)
        elif f.kind == "date":
            column = np.array([v if v is not None else "NaT" for v in raw], dtype="datetime64[D]")
        else:
            column = np.array([None if v is None else str(v) for v in raw], dtype=object)
        columns.append(column)
        masks.append(missing if missing.any() and f.kind in ("int", "bool") else None)
    return columns, masks


def shapefile_field_names(names: list[str]) -> dict[str, str]:
    """Each field name → a unique name of at most 10 characters (the dBase limit)."""
    mapped: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        short = name[:SHAPEFILE_FIELD_CHARS]
        counter = 1
        while short.lower() in taken:
            suffix = f"_{counter}"
            short = name[: SHAPEFILE_FIELD_CHARS - len(suffix)] + suffix
            counter += 1
        taken.add(short.lower())
        mapped[name] = short
    return mapped


def credits_text(about: dict, files: list[str]) -> str:
    """The README of a zip: what it holds, when it was made, its sources and licences."""
    lines = [
        about["title"],
        "=" * len(about["title"]),
        "",
        f"Erzeugt: {about['generated']}",
        "",
        "Quellen und Lizenzen:",
        *[
            f"- {s['attribution'] or s['title']} ({s['title']}), Lizenz: {s['licence'] or '–'}"
            + (f" <{s['licence_url']}>" if s.get("licence_url") else "")
            for s in about["sources"]
        ],
        "",
        "Dateien: " + ", ".join(files),
    ]
    if about["notes"]:
        lines += ["", "Hinweise:", *[f"- {n}" for n in about["notes"]]]
    return "\n".join(lines) + "\n"


def _readme(
    about: dict, mapping: dict[str, str], fields: tuple[Field, ...], files: list[str]
) -> str:
    fields_part = [
        "",
        "Feldnamen (Shapefile-Feldnamen sind höchstens 10 Zeichen lang):",
        *[f"- {mapping[f.name]} = {f.name}: {f.title}" for f in fields],
    ]
    return credits_text(about, files) + "\n".join(fields_part) + "\n"


def _write_shapefile_zip(
    path: Path,
    source: FeatureSource,
    geometries: list[bytes | None],
    columns: list,
    masks: list,
    crs: str,
    about: dict,
) -> None:
    names = [f.name for f in source.fields]
    mapping = shapefile_field_names(names)
    stem = path.name.removesuffix(".shp.zip")
    # one shapefile per geometry kind where a layer mixes them (projects: areas, lines, points)
    kinds = np.array(
        [
            _GEOMETRY_GROUPS.get(shapely.from_wkb(g).geom_type, "other") if g else "other"
            for g in geometries
        ]
    )
    groups = [None] if source.geometry_type != "Geometry" else sorted(set(kinds)) or [None]
    work = path.parent / f".{stem}-shp"
    work.mkdir(exist_ok=True)
    written: list[Path] = []
    for group in groups:
        picked = np.ones(len(geometries), bool) if group is None else kinds == group
        layer = stem if group is None else f"{stem}_{group}"
        shape_type = source.geometry_type if group is None else _GROUP_TYPES[group]
        pyogrio.raw.write(
            str(work / f"{layer}.shp"),
            np.array(geometries, dtype=object)[picked],
            [c[picked] for c in columns],
            [mapping[n] for n in names],
            field_mask=[m[picked] if m is not None else None for m in masks],
            driver="ESRI Shapefile",
            crs=crs,
            geometry_type=shape_type,
            layer_options={"ENCODING": "UTF-8"},
            # a point layer stays one of points (promoting it failed for every facility export)
            promote_to_multi=shape_type.startswith("Multi"),
        )
        written += sorted(work.glob(f"{layer}.*"))
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["shapefile_field", "field", "title"])
    writer.writerows([mapping[f.name], f.name, f.title] for f in source.fields)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in written:
            archive.write(file, file.name)
        archive.writestr("field_names.csv", table.getvalue())
        archive.writestr(
            "README.txt", _readme(about, mapping, source.fields, [f.name for f in written])
        )
    for file in written:
        file.unlink()
    work.rmdir()
