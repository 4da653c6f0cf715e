"""CQL2 filters (OGC API – Features Part 3) over a feature source. The text or JSON encoding
is parsed and validated by the cql2 library into the standard JSON tree; this module turns
that tree into a WHERE clause with every literal bound as a parameter and every property
checked against the source's fields, so a filter can neither name a column the source does
not publish nor carry SQL. What a filter may ask for is bounded: its length, its nesting, the
number of its nodes, list lengths and geometry sizes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import cql2
import shapely.geometry

from spatial.features import FeatureQueryError, FeatureSource, quoted

GEOMETRY_NAMES = ("geometry", "geom")
LANGUAGES = ("cql2-text", "cql2-json")
MAX_CHARS = 4_000  # the parser crashes (not errs) on nesting in the thousands
MAX_DEPTH = 40
MAX_NODES = 1_000
MAX_LIST = 500
MAX_POSITIONS = 10_000
_NUMERIC = ("int", "float")
_COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/", "%": "%", "^": "^"}
_SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_touches": "ST_Touches",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_equals": "ST_Equals",
}
# Allen's relations on (start, end) pairs as CQL2 defines them; an instant is start = end
_TEMPORAL = {
    "t_after": "{a0} > {b1}",
    "t_before": "{a1} < {b0}",
    "t_contains": "{a0} < {b0} AND {a1} > {b1}",
    "t_disjoint": "NOT ({a0} <= {b1} AND {a1} >= {b0})",
    "t_during": "{a0} > {b0} AND {a1} < {b1}",
    "t_equals": "{a0} = {b0} AND {a1} = {b1}",
    "t_finishedby": "{a0} < {b0} AND {a1} = {b1}",
    "t_finishes": "{a0} > {b0} AND {a1} = {b1}",
    "t_intersects": "{a0} <= {b1} AND {a1} >= {b0}",
    "t_meets": "{a1} = {b0}",
    "t_metby": "{a0} = {b1}",
    "t_overlappedby": "{a0} > {b0} AND {a0} < {b1} AND {a1} > {b1}",
    "t_overlaps": "{a0} < {b0} AND {a1} > {b0} AND {a1} < {b1}",
    "t_startedby": "{a0} = {b0} AND {a1} > {b1}",
    "t_starts": "{a0} = {b0} AND {a1} < {b1}",
}


class FilterError(FeatureQueryError):
    """A filter the service cannot evaluate: malformed, too large, or not fitting the source."""


@dataclass(frozen=True)
class CompiledFilter:
    sql: str
    params: dict = field(default_factory=dict)


def _nesting(raw: str) -> int:
    """The deepest bracket nesting of a filter text, outside quoted strings."""
    depth = deepest = 0
    quote = None
    for ch in raw:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def parse_filter(raw: str, lang: str | None = None) -> dict | bool:
    """The standard CQL2 JSON tree of a filter in ``lang`` (cql2-text unless named)."""
    lang = lang or "cql2-text"
    if lang not in LANGUAGES:
        raise FilterError(f"filter-lang {lang!r} is not offered; use cql2-text or cql2-json")
    if not raw.strip():
        raise FilterError("filter is empty")
    if len(raw) > MAX_CHARS:
        raise FilterError(f"filter is {len(raw)} characters long; at most {MAX_CHARS} are taken")
    if _nesting(raw) > MAX_DEPTH:
        raise FilterError(f"filter is nested more than {MAX_DEPTH} levels deep")
    try:
        if lang == "cql2-json":
            try:
                given = json.loads(raw)
            except ValueError as exc:
                raise FilterError(f"filter is not JSON (filter-lang=cql2-json): {exc}") from None
            expression = cql2.Expr(given)
        else:
            expression = cql2.Expr(raw)
        expression.validate()
        return expression.to_json()
    except FilterError:
        raise
    except Exception as exc:  # the library raises plain exceptions with the parser's report
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise FilterError(f"filter is not valid {lang}: {message[:300]}") from None


def _size(node, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise FilterError(f"filter is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, dict):
        return 1 + sum(_size(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return 1 + sum(_size(v, depth + 1) for v in node)
    return 1


class _Translation:
    """One filter's translation: the bound values collected as it goes."""

    def __init__(self, source: FeatureSource, literal_srid: int) -> None:
        self.source = source
        self.literal_srid = literal_srid
        self.params: dict = {}

    def bind(self, value, cast: str | None = None) -> str:
        name = f"f_{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {cast})" if cast else f":{name}"

    # conditions -------------------------------------------------------------------------
    def condition(self, node) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if isinstance(node, dict) and "property" in node:
            sql, kind = self.expression(node)
            if kind != "bool":
                raise FilterError(f"{node['property']} is a {kind} property, not a condition")
            return sql
        if not isinstance(node, dict) or "op" not in node:
            raise FilterError(f"{_shown(node)} is not a condition")
        op, args = str(node["op"]).lower(), node.get("args", [])
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.condition(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.condition(args[0])})"
        if op in _COMPARE:
            return self.comparison(_COMPARE[op], args)
        if op == "like":
            (left, lk), (right, rk) = self.expression(args[0]), self.expression(args[1])
            if "text" not in (lk, rk) or {lk, rk} - {"text"}:
                raise FilterError("LIKE compares text with a text pattern")
            return f"({left} LIKE {right})"
        if op == "between":
            value, kind = self.expression(args[0])
            low, high = (self.typed(a, kind, "BETWEEN") for a in args[1:3])
            return f"({value} BETWEEN {low} AND {high})"
        if op == "in":
            value, kind = self.expression(args[0])
            items = args[1] if isinstance(args[1], list) else [args[1]]
            if len(items) > MAX_LIST:
                raise FilterError(f"IN lists at most {MAX_LIST} values, not {len(items)}")
            return f"({value} IN (" + ", ".join(self.typed(i, kind, "IN") for i in items) + "))"
        if op == "isnull":
            return f"({self.expression(args[0])[0]} IS NULL)"
        if op in _SPATIAL or op == "s_disjoint":
            left, right = (self.geometry(a) for a in args[:2])
            if op == "s_disjoint":
                return f"(NOT ST_Intersects({left}, {right}))"
            return f"{_SPATIAL[op]}({left}, {right})"
        if op in _TEMPORAL:
            (a0, a1), (b0, b1) = (self.period(a) for a in args[:2])
            return "(" + _TEMPORAL[op].format(a0=a0, a1=a1, b0=b0, b1=b1) + ")"
        raise FilterError(f"{node['op']!r} is not offered; see /ogc/conformance")

    def comparison(self, operator: str, args: list) -> str:
        (left, lk), (right, rk) = self.expression(args[0]), self.expression(args[1])
        if "null" in (lk, rk):
            raise FilterError("compare with NULL through IS NULL")
        _same_kind(lk, rk, operator)
        return f"({left} {operator} {right})"

    # expressions ------------------------------------------------------------------------
    def expression(self, node) -> tuple[str, str]:
        """SQL and kind (a field kind, or null) of a scalar expression."""
        if node is None:
            return "NULL", "null"
        if isinstance(node, bool):
            return self.bind(node), "bool"
        if isinstance(node, int | float):
            return self.bind(float(node), "float8"), "float"
        if isinstance(node, str):
            return self.bind(node, "text"), "text"
        if isinstance(node, dict) and "property" in node:
            name = str(node["property"])
            if name in GEOMETRY_NAMES:
                raise FilterError(f"{name} is the geometry; compare it with S_INTERSECTS & co.")
            column = self.source.field(name)
            return f"src.{quoted(column.name)}", column.kind
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            return self.instant(node), "date"
        if isinstance(node, dict) and "op" in node:
            op, args = str(node["op"]).lower(), node.get("args", [])
            if op in ("casei", "lower"):
                inner, kind = self.expression(args[0])
                if kind != "text":
                    raise FilterError("CASEI takes text")
                return f"lower({inner})", "text"
            if op in _ARITHMETIC or op == "div":
                (left, lk), (right, rk) = (self.expression(a) for a in args[:2])
                if lk not in _NUMERIC or rk not in _NUMERIC:
                    raise FilterError(f"{node['op']} takes numbers")
                if op == "div":
                    return f"div(({left})::numeric, ({right})::numeric)::float8", "float"
                if op == "%":
                    return f"mod(({left})::numeric, ({right})::numeric)::float8", "float"
                return f"(({left})::float8 {_ARITHMETIC[op]} ({right})::float8)", "float"
            raise FilterError(f"function {node['op']!r} is not offered")
        raise FilterError(f"{_shown(node)} is not a value this filter can compare")

    def typed(self, node, kind: str, where: str) -> str:
        sql, found = self.expression(node)
        _same_kind(kind, found, where)
        return sql

    def instant(self, node: dict) -> str:
        raw = node.get("date", node.get("timestamp"))
        try:
            if "date" in node:
                return self.bind(date.fromisoformat(str(raw)), "date")
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
            return self.bind(moment, "timestamptz")
        except ValueError:
            raise FilterError(f"{raw!r} is not an RFC 3339 date or timestamp") from None

    def period(self, node) -> tuple[str, str]:
        """(start, end) SQL of a temporal operand: a date property or instant, or an interval."""
        if isinstance(node, dict) and "interval" in node:
            bounds = node["interval"]
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise FilterError("INTERVAL takes a start and an end")
            parts = []
            open_ends = ("'-infinity'::date", "'infinity'::date")
            for bound, open_end in zip(bounds, open_ends, strict=True):
                if bound == "..":
                    parts.append(open_end)
                elif isinstance(bound, dict) and "property" in bound:
                    parts.append(self.period(bound)[0])
                else:
                    text = str(bound)
                    parts.append(self.instant({"timestamp" if "T" in text else "date": text}))
            return parts[0], parts[1]
        sql, kind = self.expression(node)
        if kind != "date":
            raise FilterError(f"{_shown(node)} is not a date, timestamp or interval")
        return sql, sql

    def geometry(self, node) -> str:
        if isinstance(node, dict) and node.get("property") in GEOMETRY_NAMES:
            return "src.geom"
        if isinstance(node, dict) and "bbox" in node:
            box = [float(v) for v in node["bbox"]]
            if len(box) == 6:
                box = [box[0], box[1], box[3], box[4]]
            if len(box) != 4 or not (box[0] <= box[2] and box[1] <= box[3]):
                raise FilterError("BBOX takes minx, miny, maxx, maxy")
            corners = ", ".join(self.bind(v, "float8") for v in box)
            envelope = f"ST_MakeEnvelope({corners}, {int(self.literal_srid)})"
            return f"ST_Transform({envelope}, {int(self.source.srid)})"
        if isinstance(node, dict) and "type" in node:
            if _positions(node) > MAX_POSITIONS:
                raise FilterError(f"a filter geometry has at most {MAX_POSITIONS} positions")
            _check_shape(node, self.literal_srid)
            shape = self.bind(json.dumps(node), "text")
            flat = f"ST_Force2D(ST_GeomFromGeoJSON({shape}))"
            literal = f"ST_SetSRID({flat}, {int(self.literal_srid)})"
            return f"ST_Transform({literal}, {int(self.source.srid)})"
        if isinstance(node, dict) and "property" in node:
            raise FilterError(f"{node['property']} is not the geometry; that is 'geometry'")
        raise FilterError(f"{_shown(node)} is not a geometry")


def _check_shape(node: dict, srid: int) -> None:
    try:
        geometry = shapely.geometry.shape(node)
    except Exception as exc:  # shapely's errors differ by geometry type
        raise FilterError(f"filter geometry {_shown(node)} is not valid GeoJSON: {exc}") from None
    if geometry.is_empty:
        raise FilterError("a filter geometry is empty")
    west, south, east, north = geometry.bounds
    if srid == 4326 and not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise FilterError(
            "filter geometry is outside longitude/latitude (CRS84; name another in filter-crs)"
        )


def _positions(node) -> int:
    if isinstance(node, dict):
        return sum(_positions(v) for k, v in node.items() if k in ("coordinates", "geometries"))
    if isinstance(node, list):
        if node and all(isinstance(v, int | float) for v in node):
            return 1
        return sum(_positions(v) for v in node)
    return 0


def _same_kind(first: str, second: str, where: str) -> None:
    numeric = first in _NUMERIC and second in _NUMERIC
    if not numeric and first != second and "null" not in (first, second):
        raise FilterError(f"{where} compares a {first} with a {second}")


def _shown(node) -> str:
    return json.dumps(node, ensure_ascii=False)[:80]


def compile_filter(tree, source: FeatureSource, literal_srid: int = 4326) -> CompiledFilter:
    """The WHERE clause of a parsed filter over ``source`` (alias ``src``); geometry literals
    are in ``literal_srid`` (``filter-crs``, CRS84 unless named)."""
    if _size(tree) > MAX_NODES:
        raise FilterError(f"filter has more than {MAX_NODES} parts")
    translation = _Translation(source, literal_srid)
    sql = translation.condition(tree)
    return CompiledFilter(sql, translation.params)
