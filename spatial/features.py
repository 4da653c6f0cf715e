"""Feature sources: any layer of the platform as one SQL relation (id, geometry in the storage
CRS, typed attributes) with its sources' attribution, and the queries every consumer needs from
it — pages of GeoJSON features in a chosen CRS and rows with WKB for file writers (Mapbox
vector tiles in ``spatial.tiles``). Exports, OGC API Features and tiles therefore select
the same features the same way, and PostGIS does the spatial work (transform, bbox, GeoJSON)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.errors import SozialraumError

FIELD_KINDS = ("int", "float", "text", "date", "bool")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class FeatureQueryError(SozialraumError):
    """A filter that does not fit the source (unknown property, value of the wrong type)."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # one of FIELD_KINDS
    title: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS or not _NAME.match(self.name):
            raise ValueError(f"bad field {self.name!r} of kind {self.kind!r}")


@dataclass(frozen=True)
class Attribution:
    title: str
    licence: str | None = None
    attribution: str | None = None

    def line(self) -> str:
        parts = [self.attribution or self.title]
        if self.licence:
            parts.append(f"Lizenz: {self.licence}")
        return ", ".join(parts)


@dataclass(frozen=True)
class FeatureSource:
    """``relation`` selects ``fid``, ``geom`` (storage CRS) and the fields, with ``params``
    bound; names in ``relation`` are the builder's, never the caller's. ``tile_geom`` names a
    column of ``relation`` with the same geometry in Web Mercator (simplified for tiles up to
    ``spatial.tiles.TILE_GEOM_MAX_ZOOM``), which tiles then encode without transforming it."""

    name: str  # what the layer is, usable in file names: <system>_<level>_<yyyy-mm>
    title: str
    relation: str
    params: dict
    fields: tuple[Field, ...]
    geometry_type: str  # MultiPolygon, Point, Geometry
    srid: int
    attributions: tuple[Attribution, ...] = ()
    id_kind: str = "int"
    temporal: tuple[str, str] | None = None  # start and end column for datetime filters
    extent: tuple[float, float, float, float] | None = None  # WGS 84, for metadata
    notes: tuple[str, ...] = ()
    tile_geom: str | None = None

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.fields)
        raise FeatureQueryError(f"unknown property {name!r}; properties: {known}")

    def attribution_text(self) -> str:
        return "; ".join(a.line() for a in self.attributions)


@dataclass(frozen=True)
class FeatureQuery:
    """Which features: a bounding box (in ``bbox_srid``), property equality filters, a date
    interval (open ends as None), a compiled filter (SQL over ``src`` with its bound values),
    the order (field names, descending or not; the id breaks ties) and the page."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326
    properties: dict[str, str] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    limit: int | None = None
    offset: int = 0
    filter_sql: str | None = None
    filter_params: dict = field(default_factory=dict)
    sortby: tuple[tuple[str, bool], ...] = ()
    select: tuple[str, ...] | None = None  # the fields shown (all when None)

    @property
    def narrows(self) -> bool:
        """Whether it selects fewer than all features of the source."""
        return bool(self.bbox or self.properties or self.start or self.end or self.filter_sql)


def storage_srid(conn: Connection) -> int:
    return int(conn.execute(text("SELECT value FROM store_meta WHERE key = 'srid'")).scalar_one())


def extent_of(conn: Connection, from_where: str, params: dict) -> tuple[float, ...]:
    """WGS 84 bounds [west, south, east, north] of ``geom`` in ``FROM <from_where>`` (the
    whole world when empty)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform("
            "ST_SetSRID(ST_Extent(geom)::geometry, min(ST_SRID(geom))), 4326)::box2d AS e "
            f"FROM {from_where}) AS x"
        ),
        params,
    ).one()
    return tuple(row) if row[0] is not None else (-180.0, -90.0, 180.0, 90.0)


def array_literal(values: list) -> str:
    """A PostgreSQL array literal of numbers or texts (None → NULL), for ``CAST(:p AS …[])``.
    Sources bind their value arrays as one prepared string: adapting thousands of Python
    numbers on every tile or page request cost more than the query itself."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
        elif isinstance(value, str):
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            items.append(repr(float(value)))
    return "{" + ",".join(items) + "}"


def quoted(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _typed(f: Field, raw: str):
    try:
        if f.kind == "int":
            return int(raw)
        if f.kind == "float":
            return float(raw.replace(",", "."))
        if f.kind == "date":
            return date.fromisoformat(raw)
        if f.kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
    except ValueError:
        raise FeatureQueryError(f"{f.name} is a {f.kind} property; {raw!r} is not one") from None
    return raw


def where_clause(source: FeatureSource, query: FeatureQuery) -> tuple[str, dict]:
    clauses, params = ["TRUE"], {}
    if query.bbox is not None:
        west, south, east, north = query.bbox
        clauses.append(
            "src.geom && ST_Transform(ST_MakeEnvelope(:q_w, :q_s, :q_e, :q_n, :q_bsrid), :q_srid)"
            " AND ST_Intersects(src.geom, "
            "ST_Transform(ST_MakeEnvelope(:q_w, :q_s, :q_e, :q_n, :q_bsrid), :q_srid))"
        )
        params.update(
            q_w=west, q_s=south, q_e=east, q_n=north, q_bsrid=query.bbox_srid, q_srid=source.srid
        )
    for i, (name, raw) in enumerate(sorted(query.properties.items())):
        f = source.field(name)
        clauses.append(f"src.{quoted(f.name)} = :q_p{i}")
        params[f"q_p{i}"] = _typed(f, raw)
    if (query.start or query.end) and source.temporal is None:
        raise FeatureQueryError(f"{source.title} has no dates; datetime does not apply")
    if source.temporal is not None:
        first, last = (quoted(c) for c in source.temporal)
        if query.end is not None:
            clauses.append(f"(src.{first} IS NULL OR src.{first} <= :q_end)")
            params["q_end"] = query.end
        if query.start is not None:
            clauses.append(f"(src.{last} IS NULL OR src.{last} >= :q_start)")
            params["q_start"] = query.start
    if query.filter_sql:
        clauses.append(f"({query.filter_sql})")
        params.update(query.filter_params)
    return " AND ".join(clauses), {**source.params, **params}


def parse_sortby(raw: str | None, source: FeatureSource) -> tuple[tuple[str, bool], ...]:
    """``sortby=name,-capacity`` (``+`` or nothing ascending, ``-`` descending) checked
    against the source's fields."""
    order = []
    for part in (p.strip() for p in (raw or "").split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("+-").strip()
        try:
            source.field(name)
        except FeatureQueryError:
            known = ", ".join(f.name for f in source.fields)
            raise FeatureQueryError(f"sortby {name!r} is no property; sortable: {known}") from None
        order.append((name, descending))
    return tuple(order)


def order_by(query: FeatureQuery, alias: str) -> str:
    """The ORDER BY list of a query's features (unknown values last, the id breaks ties)."""
    keys = [
        f"{alias}.{quoted(name)} {'DESC' if descending else 'ASC'} NULLS LAST"
        for name, descending in query.sortby
    ]
    return ", ".join([*keys, f"{alias}.fid"])


def parse_select(raw: str | None, source: FeatureSource) -> tuple[str, ...] | None:
    """``properties=name,code``: the fields to show, checked, once each, in the order named
    (``properties=`` shows none; without the parameter all are shown)."""
    if raw is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    for name in names:
        source.field(name)
    return names


def shown_fields(source: FeatureSource, query: FeatureQuery) -> tuple[Field, ...]:
    """The fields a query shows: those it selects (checked by ``parse_select``), else all."""
    if query.select is None:
        return source.fields
    by_name = {f.name: f for f in source.fields}
    return tuple(by_name[n] for n in query.select)


def fill(template: str, **parts: str) -> str:
    # str.format would trip over braces inside the parts (JSON literals in a relation)
    for key, value in parts.items():
        template = template.replace("{" + key + "}", value)
    return template


def _property_row(fields: tuple[Field, ...], alias: str) -> str:
    # a row constructor keeps the field order and has no argument limit (json_build_object has)
    columns = ", ".join(f"{alias}.{quoted(f.name)}" for f in fields)
    return f"(SELECT p FROM (SELECT {columns}) AS p)"


def _geojson_geometry(column: str) -> str:
    """SQL: the GeoJSON geometry of ``column`` in ``:q_out`` with ``:q_digits`` decimals. It is
    snapped to that grid first, and where the snapped shape is invalid (rings touching after
    rounding; QGIS stops on such input) the precision reducer makes it valid on the grid —
    about twice the cost of rounding alone, instead of four times for reducing every shape."""
    # the repaired shape keeps the kind of the input (a MultiPolygon stays one, for clients
    # that take a layer's geometry type from its features)
    reduced = (
        "CASE WHEN ST_GeometryType(a.t) LIKE 'ST_Multi%' THEN ST_Multi(ST_CollectionExtract("
        "ST_ReducePrecision(a.t, a.grid), ST_Dimension(a.t) + 1)) "
        "ELSE ST_ReducePrecision(a.t, a.grid) END"
    )
    return (
        f"ST_AsGeoJSON((SELECT CASE WHEN ST_IsValid(b.s) THEN b.s ELSE {reduced} END "
        f"FROM (SELECT ST_Transform({column}, :q_out) AS t, "
        "power(10::float8, -(:q_digits)::int) AS grid) a, "
        "LATERAL (SELECT ST_SnapToGrid(a.t, a.grid) AS s) b), :q_digits, 0)::json"
    )


_PAGE = """
WITH hit AS (
    SELECT src.* FROM ({relation}) AS src WHERE {where}
    ORDER BY {order} LIMIT :q_limit + 1 OFFSET :q_offset
), numbered AS (SELECT hit.*, row_number() OVER (ORDER BY {hit_order}) AS q_n FROM hit)
SELECT coalesce(string_agg(json_build_object(
        'type', 'Feature', 'id', n.fid,
        'geometry', {geometry},
        'properties', row_to_json({props}))::text, ',' ORDER BY n.q_n)
        FILTER (WHERE n.q_n <= :q_limit), ''),
    count(*) FILTER (WHERE n.q_n <= :q_limit), count(*) > :q_limit
FROM numbered AS n
"""


def geojson_features(
    conn: Connection, source: FeatureSource, query: FeatureQuery, out_srid: int, digits: int
) -> tuple[str, int, bool]:
    """Comma-joined GeoJSON Feature texts of one page (coordinates in ``out_srid``, x/y order),
    how many, and whether more follow (one row more is read to know; never a full count)."""
    where, params = where_clause(source, query)
    sql = fill(
        _PAGE,
        relation=source.relation,
        where=where,
        props=_property_row(shown_fields(source, query), "n"),
        geometry=_geojson_geometry("n.geom"),
        order=order_by(query, "src"),
        hit_order=order_by(query, "hit"),
    )
    params.update(
        q_limit=query.limit if query.limit is not None else 10_000_000,
        q_offset=query.offset,
        q_out=out_srid,
        q_digits=digits,
    )
    features, returned, more = conn.execute(text(sql), params).one()
    return features, returned, more


def one_feature(
    conn: Connection, source: FeatureSource, fid: str, out_srid: int, digits: int
) -> str | None:
    """One Feature's GeoJSON text by id, or None."""
    if source.id_kind == "int":
        try:
            key: int | str = int(fid)
        except ValueError:
            return None
    else:
        key = fid
    sql = (
        "SELECT json_build_object('type', 'Feature', 'id', src.fid, 'geometry', "
        f"{_geojson_geometry('src.geom')}, "
        f"'properties', row_to_json({_property_row(source.fields, 'src')}))::text "
        f"FROM ({source.relation}) AS src WHERE src.fid = :q_fid"
    )
    params = {**source.params, "q_out": out_srid, "q_digits": digits, "q_fid": key}
    return conn.execute(text(sql), params).scalar()


def wkb_rows(
    conn: Connection,
    source: FeatureSource,
    query: FeatureQuery,
    out_srid: int,
    points: bool = False,
) -> tuple[list[bytes | None], dict[str, list]]:
    """Geometries as WKB in ``out_srid`` (a point on the surface of each with ``points``) and
    the field values as columns, in id order (for file writers)."""
    where, params = where_clause(source, query)
    columns = ", ".join(f"src.{quoted(f.name)}" for f in source.fields)
    limit = "" if query.limit is None else f" LIMIT {int(query.limit)}"
    shape = "ST_PointOnSurface(src.geom)" if points else "src.geom"
    sql = (
        f"SELECT ST_AsBinary(ST_Transform({shape}, :q_out)), {columns} "
        f"FROM ({source.relation}) AS src WHERE {where} ORDER BY {order_by(query, 'src')}{limit}"
    )
    rows = conn.execute(text(sql), {**params, "q_out": out_srid}).all()
    geometries = [bytes(r[0]) if r[0] is not None else None for r in rows]
    values = {f.name: [r[i + 1] for r in rows] for i, f in enumerate(source.fields)}
    return geometries, values
