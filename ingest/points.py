"""Reading a facility file into validated point rows: id, category, name, address, capacity,
provider, attributes and geometry (WKB), with everything wrong found before the store is touched.

Geo formats (GeoJSON, GPKG, Shapefile, FlatGeobuf, WFS responses) are read with GDAL; CSV and
XLSX tables need x/y columns and a declared CRS. A MultiPoint with one member is that point; with
several members it is an error, as is a file without a CRS or with coordinates that do not fit it.
"""

from __future__ import annotations

import json
import re
import string
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyproj import CRS, Transformer

from ingest.errors import IngestError
from ingest.manifest import Source
from ingest.readers import (
    as_code_text,
    check_extent,
    check_units,
    crs_of,
    find_column,
    read_vector_frame,
)
from ingest.tables import DEFAULT_MISSING, parse_number, read_table

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
EXAMPLES = 5
_NUMBER_IN_TEXT = re.compile(r"\d[\d.\s]*")


class FacilitySource(BaseModel):
    """A facility source manifest (``data/facilities/<key>.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    valid_on: date | None = Field(
        default=None, description="the date the data describe (its 'Stand'), if known"
    )
    category: str | None = Field(default=None, description="one category for every feature")
    category_field: str | None = None
    category_map: dict[str, str] = Field(
        default_factory=dict, description="value of category_field → category key"
    )
    id_field: str
    name_field: str
    address: str | None = Field(
        default=None, description="template over fields, e.g. '{street} {number}, {zip} {city}'"
    )
    capacity_field: str | None = None
    provider_field: str | None = None
    x_field: str | None = Field(default=None, description="for tables: the x / longitude column")
    y_field: str | None = None
    decimal: str = Field(default=".", pattern=r"^[,.]$")
    header_row: int = Field(default=0, ge=0)
    attributes: list[str] | None = Field(
        default=None, description="fields kept as attributes; default: all unmapped fields"
    )
    source: Source

    @model_validator(mode="after")
    def _category_given(self) -> FacilitySource:
        if bool(self.category) == bool(self.category_field):
            raise ValueError("set either 'category' or 'category_field' (with category_map)")
        if self.category_field and not self.category_map:
            raise ValueError("'category_field' needs a 'category_map'")
        if bool(self.x_field) != bool(self.y_field):
            raise ValueError("set both 'x_field' and 'y_field'")
        return self


@dataclass
class PointLayer:
    """Validated facilities of one file, ready to be staged in PostGIS."""

    path: Path
    rows: pd.DataFrame  # feature_index, source_id, category, name, address, capacity, ...
    crs: CRS
    epsg: int | None
    notes: list[str] = field(default_factory=list)


def read_point_layer(path: Path, spec: FacilitySource, categories: set[str]) -> PointLayer:
    """Read and validate one facility file; raise :class:`IngestError` on bad input."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        frame, geoms, file_crs = _read_table_points(path, spec)
    else:
        frame = read_vector_frame(path, spec.source.layer)
        geoms, file_crs = _single_points(frame, spec, path), frame.crs
    if file_crs is None and not spec.source.crs:
        raise IngestError(
            "the file has no CRS and none is declared; set 'crs' under [source] in the "
            f"manifest{_lonlat_hint(geoms)}",
            file=path,
        )
    crs = crs_of(file_crs, spec.source.crs, path)
    check_extent(shapely.total_bounds(geoms), crs, path)
    check_units(shapely.total_bounds(geoms), crs, path)
    notes: list[str] = []

    def column(name: str) -> str:
        return find_column(frame, name, path)

    rows = pd.DataFrame({"feature_index": np.arange(len(frame), dtype=np.int64)})
    id_col = column(spec.id_field)
    rows["source_id"] = [as_code_text(v) for v in frame[id_col]]
    blank = rows["source_id"].isna()
    if blank.any():
        raise IngestError("empty id", file=path, feature=int(blank.idxmax()), field=id_col)
    _check_unique_ids(rows, path, id_col)
    rows["category"] = _categories(frame, spec, categories, column, path)
    rows["name"] = _names(frame[column(spec.name_field)], rows, notes)
    rows["address"] = _addresses(frame, spec.address, column) if spec.address else None
    if spec.capacity_field:
        capacities = _capacities(frame[column(spec.capacity_field)], rows, notes, spec)
        rows["capacity"] = pd.Series(capacities, dtype=object)  # ints and None, never floats
    else:
        rows["capacity"] = None
    rows["provider"] = _texts(frame[column(spec.provider_field)]) if spec.provider_field else None
    mapped = {
        column(f)
        for f in (
            spec.id_field,
            spec.name_field,
            spec.capacity_field,
            spec.provider_field,
            spec.x_field,
            spec.y_field,
        )
        if f
    }
    kept = (
        [column(f) for f in spec.attributes]
        if spec.attributes is not None
        else [c for c in frame.columns if c != "geometry" and c not in mapped]
    )
    rows["attributes"] = _attributes(frame, kept)
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None:  # PostGIS transforms from EPSG codes; move a custom CRS to WGS 84 here
        to_wgs84 = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
        x, y = to_wgs84.transform(shapely.get_x(geoms), shapely.get_y(geoms))
        geoms, epsg = shapely.points(x, y), 4326
        notes.append(f"transformed from a custom CRS ({crs.name})")
    rows["wkb"] = shapely.to_wkb(geoms, hex=True, output_dimension=2)
    return PointLayer(path=path, rows=rows, crs=crs, epsg=epsg, notes=notes)


def _read_table_points(path: Path, spec: FacilitySource):
    if not spec.x_field:
        raise IngestError(
            "a table has no geometry: set 'x_field' and 'y_field' in the manifest", file=path
        )
    frame = read_table(path, header_row=spec.header_row)
    for name in (spec.x_field, spec.y_field):
        if name not in frame.columns:
            listed = ", ".join(frame.columns)
            raise IngestError(f"no such column (columns are: {listed})", file=path, field=name)
    coords = []
    for axis in (spec.x_field, spec.y_field):
        values = []
        for index, cell in enumerate(frame[axis]):
            try:
                values.append(parse_number(cell, spec.decimal))
            except ValueError:
                raise IngestError(
                    "not a coordinate", file=path, feature=index, field=axis, value=cell
                ) from None
        coords.append(values)
    return frame, shapely.points(coords[0], coords[1]), None


def _single_points(frame, spec: FacilitySource, path: Path) -> np.ndarray:
    """Point per feature: a one-member MultiPoint is unwrapped, anything else is refused."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ids = frame[spec.id_field] if spec.id_field in frame.columns else None
    out = np.empty(len(geoms), dtype=object)
    for index, geom in enumerate(geoms):
        label = f" (id {as_code_text(ids.iat[index])})" if ids is not None else ""
        if geom is None or shapely.is_empty(geom):
            raise IngestError(f"feature{label} has no geometry", file=path, feature=index)
        if geom.geom_type == "MultiPoint":
            parts = shapely.get_parts(geom)
            if len(parts) != 1:
                raise IngestError(
                    f"MultiPoint{label} with {len(parts)} points; a facility has one location "
                    "(split the feature or fix the source)",
                    file=path,
                    feature=index,
                )
            geom = parts[0]
        elif geom.geom_type != "Point":
            raise IngestError(
                f"{geom.geom_type}{label} is not a point: facilities must be Point features",
                file=path,
                feature=index,
            )
        out[index] = geom
    return out


def _lonlat_hint(geoms: np.ndarray) -> str:
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
        return " (the coordinates look like longitude/latitude: crs = 'EPSG:4326')"
    return ""


def _check_unique_ids(rows: pd.DataFrame, path: Path, column: str) -> None:
    dupes = rows[rows["source_id"].duplicated(keep=False)]
    if dupes.empty:
        return
    first = dupes["source_id"].iat[0]
    features = dupes.loc[dupes["source_id"] == first, "feature_index"].tolist()
    raise IngestError(
        f"duplicate id {first!r} in features {', '.join(map(str, features))}",
        file=path,
        field=column,
    )


def _categories(frame, spec: FacilitySource, known: set[str], column, path: Path) -> list[str]:
    wanted = {spec.category} if spec.category else set(spec.category_map.values())
    unknown = sorted(wanted - known)
    if unknown:
        raise IngestError(
            f"unknown facility categories {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            file=path,
        )
    if spec.category:
        return [spec.category] * len(frame)
    col = column(spec.category_field)
    values = _texts(frame[col])
    result = []
    for index, value in enumerate(values):
        if value not in spec.category_map:
            raise IngestError(
                "value not in category_map", file=path, feature=index, field=col, value=value
            )
        result.append(spec.category_map[value])
    return result


def _texts(series: pd.Series) -> list[str | None]:
    out = []
    for value in series:
        text = as_code_text(value)
        out.append(text if text else None)
    return out


def _names(series: pd.Series, rows: pd.DataFrame, notes: list[str]) -> list[str]:
    names = _texts(series)
    missing = [i for i, n in enumerate(names) if not n]
    if missing:
        notes.append(f"{len(missing)} facilities have no name; their id is shown instead")
    return [n or f"#{sid}" for n, sid in zip(names, rows["source_id"], strict=True)]


def _addresses(frame, template: str, column) -> list[str | None]:
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name]
    resolved = {name: column(name) for name in fields}
    out = []
    for record in frame[list(resolved.values())].itertuples(index=False):
        values = defaultdict(str)
        for name, value in zip(fields, record, strict=True):
            values[name] = as_code_text(value) or ""
        text = template.format_map(values)
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r"\s+,", ",", text).strip(" ,")
        out.append(text or None)
    return out


def _capacities(
    series: pd.Series, rows: pd.DataFrame, notes: list[str], spec: FacilitySource
) -> list[int | None]:
    """Capacity from text: '69', '1.234', 'ca. 50 Plätze'; empty and markers mean unknown."""
    out: list[int | None] = []
    from_text, unreadable, zeros = [], [], 0
    for value, sid in zip(series, rows["source_id"], strict=True):
        text = as_code_text(value)
        if text is None or text in DEFAULT_MISSING:
            out.append(None)
            continue
        try:
            number = parse_number(text, spec.decimal)
        except ValueError:
            found = _NUMBER_IN_TEXT.findall(text)
            if len(found) != 1:
                unreadable.append(f"{sid}: {text!r}")
                out.append(None)
                continue
            number = parse_number(found[0].strip(), spec.decimal)
            from_text.append(f"{sid}: {text!r} → {int(number)}")
        if number < 0 or not float(number).is_integer():
            unreadable.append(f"{sid}: {text!r}")
            out.append(None)
            continue
        zeros += number == 0
        out.append(int(number))
    if from_text:
        notes.append(f"{len(from_text)} capacities read from text, e.g. {from_text[0]}")
    if unreadable:
        notes.append(
            f"{len(unreadable)} capacities unreadable and stored as unknown: "
            + "; ".join(unreadable[:EXAMPLES])
        )
    if zeros:
        notes.append(f"{zeros} facilities report a capacity of 0 (stored as 0)")
    return out


def _attributes(frame, kept: list[str]) -> list[str]:
    records = []
    for record in frame[kept].itertuples(index=False):
        values = {}
        for name, value in zip(kept, record, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            values[name] = value if isinstance(value, int | float | bool | str) else str(value)
        records.append(json.dumps(values, ensure_ascii=False))
    return records
