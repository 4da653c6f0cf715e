"""Reading projects: filtered lists (region at any level, status, topic, period, bounding box) as
rows for pages and as a GeoJSON FeatureCollection assembled by PostGIS. Anonymous readers get
public projects only; nobody gets contacts from here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

from records.districts import district_codes_sql
from records.vocabulary import STATUS_COLOURS
from spatial.features import Attribution, FeatureSource, Field, extent_of, storage_srid

_COLOUR_CASE = (
    "CASE p.status "
    + " ".join(f"WHEN '{status}' THEN '{colour}'" for status, colour in STATUS_COLOURS.items())
    + " END"
)


@dataclass(frozen=True)
class ProjectFilter:
    system: str | None = None
    region: str | None = None  # a region code of any level of ``system``
    status: str | None = None
    topic: str | None = None
    active_from: date | None = None
    active_to: date | None = None
    bbox: tuple[float, float, float, float] | None = None  # WGS 84
    public_only: bool = True

    def where(self) -> tuple[str, dict]:
        clauses = ["p.deleted_at IS NULL"]
        params: dict = {}
        if self.public_only:
            clauses.append("p.public")
        if self.region is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM project_regions pr JOIN regions r ON r.id = pr.region_id "
                "JOIN region_systems s ON s.id = r.system_id "
                "WHERE pr.project_id = p.id AND s.key = :system AND r.code = :region)"
            )
            params.update(system=self.system, region=self.region)
        if self.status is not None:
            clauses.append("p.status = :status")
            params["status"] = self.status
        if self.topic is not None:
            clauses.append("p.topic = :topic")
            params["topic"] = self.topic
        if self.active_to is not None:
            clauses.append("(p.start_date IS NULL OR p.start_date <= :active_to)")
            params["active_to"] = self.active_to
        if self.active_from is not None:
            clauses.append("(p.end_date IS NULL OR p.end_date >= :active_from)")
            params["active_from"] = self.active_from
        if self.bbox is not None:
            clauses.append(
                "ST_Intersects(p.geom, ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), "
                "ST_SRID(p.geom)))"
            )
            params.update(dict(zip(("w", "s", "e", "n"), self.bbox, strict=True)))
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class ProjectRow:
    id: int
    version: int
    title: str
    status: str
    topic: str
    organisation: str | None
    start_date: date | None
    end_date: date | None
    public: bool
    districts: list[str]
    colour: str


def list_projects(conn: Connection, filters: ProjectFilter, limit: int) -> list[ProjectRow]:
    where, params = filters.where()
    rows = conn.execute(
        text(
            "SELECT p.id, p.version, p.title, p.status, p.topic, p.organisation, p.start_date, "
            f"p.end_date, p.public, {district_codes_sql('p.districts')} AS districts, "
            f"{_COLOUR_CASE} AS colour FROM projects p "
            f"WHERE {where} ORDER BY p.start_date DESC NULLS LAST, p.id DESC LIMIT :limit"
        ),
        {**params, "limit": limit},
    ).all()
    return [ProjectRow(**r._mapping) for r in rows]


def projects_geojson(
    conn: Connection, filters: ProjectFilter, limit: int, decimals: int
) -> tuple[str, int, bool]:
    """(FeatureCollection text, features returned, whether more matched)."""
    where, params = filters.where()
    row = conn.execute(
        text(
            f"""
            WITH hit AS (
                SELECT p.*, {_COLOUR_CASE} AS colour FROM projects p WHERE {where}
                ORDER BY p.id LIMIT :limit + 1
            ), shown AS (SELECT * FROM hit ORDER BY id LIMIT :limit)
            SELECT json_build_object(
                'type', 'FeatureCollection',
                'features', coalesce(json_agg(json_build_object(
                    'type', 'Feature', 'id', id,
                    'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), :decimals)::json,
                    'properties', json_build_object(
                        'id', id, 'version', version, 'title', title,
                        'description', description, 'status', status, 'colour', colour,
                        'topic', topic, 'funding_programme', funding_programme,
                        'organisation', organisation, 'start_date', start_date,
                        'end_date', end_date, 'participation_text', participation_text,
                        'participation_url', participation_url, 'public', public,
                        'districts', districts)
                ) ORDER BY id), '[]'::json),
                'numberReturned', count(*),
                'statusColours', CAST(:colours AS json)
            )::text AS body,
            count(*) AS n, (SELECT count(*) FROM hit) > :limit AS truncated
            FROM shown
            """
        ),
        {
            **params,
            "limit": limit,
            "decimals": decimals,
            "colours": json.dumps(STATUS_COLOURS),
        },
    ).one()
    return row.body, row.n, row.truncated


_IN_REGION = """
FROM project_regions pr JOIN regions r ON r.id = pr.region_id
JOIN region_systems s ON s.id = r.system_id JOIN projects p ON p.id = pr.project_id
WHERE s.key = :system AND r.code = :code AND p.deleted_at IS NULL
  AND (p.public OR NOT :public_only)
"""


def projects_in_region(
    conn: Connection, system: str, code: str, public_only: bool, limit: int
) -> list[dict]:
    """A region's projects with the share of each inside it (for the region page)."""
    rows = conn.execute(
        text(
            "SELECT p.id, p.title, p.status, p.topic, p.start_date, p.end_date, pr.share, "
            f"{_COLOUR_CASE} AS colour {_IN_REGION} ORDER BY p.status, p.title LIMIT :limit"
        ),
        {"system": system, "code": code, "public_only": public_only, "limit": limit},
    ).all()
    return [dict(r._mapping) for r in rows]


def project_counts_in_region(
    conn: Connection, system: str, code: str, public_only: bool
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """How many of a region's projects have each status and each topic (most first), counted
    over all of them, not over a capped list."""
    rows = conn.execute(
        text(
            "SELECT p.status, p.topic, count(*) AS n "
            f"{_IN_REGION} GROUP BY GROUPING SETS ((p.status), (p.topic)) ORDER BY n DESC, 1, 2"
        ),
        {"system": system, "code": code, "public_only": public_only},
    ).all()
    statuses = [(r.status, r.n) for r in rows if r.status is not None]
    topics = [(r.topic, r.n) for r in rows if r.topic is not None]
    return statuses, topics


def regions_of_project(conn: Connection, project_id: int, system: str) -> list[dict]:
    """The regions of one system a project touches, coarsest level first, with its share."""
    rows = conn.execute(
        text(
            "SELECT s.key AS system, l.name AS level, r.code, r.name, pr.share "
            "FROM project_regions pr JOIN regions r ON r.id = pr.region_id "
            "JOIN region_levels l ON l.id = pr.level_id "
            "JOIN region_systems s ON s.id = l.system_id "
            "WHERE pr.project_id = :id AND s.key = :system ORDER BY l.rank, r.code"
        ),
        {"id": project_id, "system": system},
    ).all()
    return [dict(r._mapping) for r in rows]


def events_of_project(conn: Connection, project_id: int) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT e.id, e.type, e.title, e.held_on FROM event_projects ep "
            "JOIN events e ON e.id = ep.event_id WHERE ep.project_id = :id "
            "AND e.deleted_at IS NULL ORDER BY e.held_on DESC"
        ),
        {"id": project_id},
    ).all()
    return [dict(r._mapping) for r in rows]


_PUBLIC_PROJECT_FIELDS = (
    Field("id", "int", "Kennung"),
    Field("title", "text", "Titel"),
    Field("description", "text", "Beschreibung"),
    Field("status", "text", "Status"),
    Field("topic", "text", "Thema"),
    Field("funding_programme", "text", "Förderprogramm"),
    Field("organisation", "text", "Träger"),
    Field("start_date", "date", "Beginn"),
    Field("end_date", "date", "Ende"),
    Field("participation_text", "text", "Beteiligung"),
    Field("participation_url", "text", "Beteiligung (Link)"),
    Field("districts", "text", "Bezirke"),
)
# signed-in readers see every field of the record; contacts live in their own table, never here
_INTERNAL_PROJECT_FIELDS = (
    Field("public", "bool", "öffentlich"),
    Field("version", "int", "Version"),
    Field("created_on", "date", "angelegt am"),
    Field("updated_on", "date", "geändert am"),
)


def project_source(
    conn: Connection, filters: ProjectFilter, attribution: Attribution
) -> FeatureSource:
    """Projects matching ``filters`` as a feature source: public fields for anonymous readers
    (``filters.public_only``), all record fields for signed-in ones; never contacts."""
    where, params = filters.where()
    fields = _PUBLIC_PROJECT_FIELDS + (() if filters.public_only else _INTERNAL_PROJECT_FIELDS)
    relation = (
        "SELECT p.id AS fid, p.geom, p.id, p.title, p.description, p.status, p.topic, "
        "p.funding_programme, p.organisation, p.start_date, p.end_date, p.participation_text, "
        "p.participation_url, "
        f"array_to_string({district_codes_sql('p.districts')}, ',') AS districts, p.public, "
        "p.version, p.created_at::date AS created_on, p.updated_at::date AS updated_on "
        f"FROM projects p WHERE {where}"
    )
    parts = ["projects"] + [v for v in (filters.region, filters.status, filters.topic) if v]
    return FeatureSource(
        name="_".join(parts) + ("" if filters.public_only else "_all-fields"),
        title="Projekte" if filters.public_only else "Projekte (alle Felder)",
        relation=relation,
        params=params,
        fields=fields,
        geometry_type="Geometry",
        srid=storage_srid(conn),
        attributions=(attribution,),
        temporal=("start_date", "end_date"),
        extent=extent_of(conn, "projects WHERE deleted_at IS NULL", {}),
    )
