"""Participation events (Sozialraumgespräche, Runde Tische, Stadtteilkonferenzen, …): type,
date, regions (chosen, or derived from a location), participants, groups, topics, outcome and
linked projects; versioned and soft-deleted like projects, and counted into the participation
indicators after every write."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User
from records.districts import district_codes_sql, districts_of_regions
from records.errors import InvalidRecord, RecordNotFound
from records.geometry import prepare_geometry
from records.history import record_change
from records.participation import event_footprint, refresh_participation_indicators
from records.settings import RecordSettings
from records.versioning import check_scope, lock_row, refuse_outdated, soft_delete
from records.vocabulary import EVENT_GROUPS, EVENT_TYPES, PROJECT_TOPICS, check_choice, slug
from spatial.features import Attribution, FeatureSource, extent_of, storage_srid
from spatial.features import Field as Column


def _choices(allowed: tuple[str, ...], what: str):
    return AfterValidator(lambda values: [check_choice(v, allowed, what) for v in values])


class EventInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, AfterValidator(lambda v: check_choice(v, EVENT_TYPES, "event type"))]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    held_on: date
    participants: Annotated[int | None, Field(ge=0, le=1_000_000)] = None
    groups: Annotated[list[str], _choices(EVENT_GROUPS, "group")] = []
    topics: Annotated[list[str], _choices(PROJECT_TOPICS, "topic")] = []
    outcome: Annotated[str, Field(max_length=20_000)] = ""
    system: str | None = Field(default=None, description="Region system of ``regions``.")
    regions: list[str] = Field(default=[], max_length=200)
    location: dict | None = Field(default=None, description="A GeoJSON Point.")
    crs: str | None = None
    project_ids: list[int] = Field(default=[], max_length=200)

    @model_validator(mode="after")
    def _placed(self) -> EventInput:
        if not self.regions and self.location is None:
            raise ValueError("give the event's regions or its location")
        if self.regions and not self.system:
            raise ValueError("regions need the region system they belong to ('system')")
        if self.location is not None and self.location.get("type") != "Point":
            raise ValueError("the location must be a GeoJSON Point")
        return self


class EventUpdate(EventInput):
    version: int = Field(ge=1)


FIELDS = ("type", "title", "held_on", "participants", "groups", "topics", "outcome")


def event_state(conn: Connection, event_id: int, *, with_deleted: bool = False) -> dict:
    row = conn.execute(
        text(
            f"""
            SELECT e.id, e.version, {", ".join("e." + f for f in FIELDS)}, e.districts,
                   s.key AS system, e.region_codes AS regions, e.deleted_at,
                   ST_AsGeoJSON(ST_Transform(e.geom, 4326), 7)::json AS location,
                   ARRAY(SELECT project_id FROM event_projects ep WHERE ep.event_id = e.id
                         ORDER BY 1) AS project_ids
            FROM events e LEFT JOIN region_systems s ON s.id = e.system_id WHERE e.id = :id
            """
        ),
        {"id": event_id},
    ).first()
    if row is None or (row.deleted_at is not None and not with_deleted):
        raise RecordNotFound(f"event {event_id} does not exist")
    state = dict(row._mapping)
    state["deleted"] = state.pop("deleted_at") is not None
    state["held_on"] = state["held_on"].isoformat()
    return state


def _placement(
    conn: Connection, data: EventInput, srid: int, settings: RecordSettings
) -> tuple[int | None, bytes | None, list[str]]:
    """(system id, location EWKB, districts) of the event's chosen regions or location."""
    if data.location is not None:
        point = prepare_geometry(conn, data.location, data.crs, srid, settings)
        return None, point.ewkb, point.districts
    system_id = conn.execute(
        text("SELECT id FROM region_systems WHERE key = :k"), {"k": data.system}
    ).scalar()
    if system_id is None:
        raise InvalidRecord(f"unknown region system {data.system!r}")
    found = conn.execute(
        text("SELECT id, code FROM regions WHERE system_id = :sys AND code = ANY(:codes)"),
        {"sys": system_id, "codes": data.regions},
    ).all()
    unknown = sorted(set(data.regions) - {r.code for r in found})
    if unknown:
        raise InvalidRecord(f"unknown region code(s) in {data.system}: {', '.join(unknown)}")
    return system_id, None, districts_of_regions(conn, [r.id for r in found])


def _check_projects(conn: Connection, project_ids: list[int]) -> None:
    if not project_ids:
        return
    found = set(
        conn.execute(
            text("SELECT id FROM projects WHERE id = ANY(:ids) AND deleted_at IS NULL"),
            {"ids": project_ids},
        ).scalars()
    )
    missing = sorted(set(project_ids) - found)
    if missing:
        raise InvalidRecord(f"unknown project(s): {', '.join(map(str, missing))}")


def _write_links(conn: Connection, event_id: int, data: EventInput) -> None:
    """The event's projects and regions: chosen regions with the regions of coarser levels
    around them, or every region (all levels, all systems) that covers the location."""
    conn.execute(text("DELETE FROM event_projects WHERE event_id = :id"), {"id": event_id})
    conn.execute(
        text(
            "INSERT INTO event_projects (event_id, project_id) "
            "SELECT :id, unnest(CAST(:ids AS bigint[]))"
        ),
        {"id": event_id, "ids": sorted(set(data.project_ids))},
    )
    conn.execute(text("DELETE FROM event_regions WHERE event_id = :id"), {"id": event_id})
    conn.execute(
        text(
            """
            WITH chosen AS (
                SELECT r.* FROM events e JOIN regions r
                  ON r.system_id = e.system_id AND r.code = ANY(e.region_codes)
                WHERE e.id = :id
            ), around AS (
                SELECT c.id FROM chosen c
                UNION
                SELECT t.id FROM chosen c JOIN region_levels cl ON cl.id = c.level_id
                JOIN regions t ON t.system_id = c.system_id
                JOIN region_levels tl ON tl.id = t.level_id AND tl.rank < cl.rank
                WHERE ST_Covers(t.geom, ST_PointOnSurface(c.geom))
                UNION
                (SELECT DISTINCT ON (r.level_id) r.id FROM events e JOIN regions r
                   ON ST_Covers(r.geom, e.geom)
                 WHERE e.id = :id AND e.geom IS NOT NULL ORDER BY r.level_id, r.code)
            )
            INSERT INTO event_regions (event_id, region_id, level_id)
            SELECT :id, r.id, r.level_id FROM around JOIN regions r ON r.id = around.id
            """
        ),
        {"id": event_id},
    )


def save_event(
    conn: Connection,
    data: EventInput,
    user: User,
    srid: int,
    settings: RecordSettings,
    event_id: int | None = None,
) -> dict:
    """Create (``event_id`` None) or update an event; the participation indicators follow."""
    system_id, location, districts = _placement(conn, data, srid, settings)
    _check_projects(conn, data.project_ids)
    values = {f: getattr(data, f) for f in FIELDS}
    columns = {
        **values,
        "geom": location,
        "system_id": system_id,
        "region_codes": data.regions if data.location is None else [],
        "districts": districts,
    }
    footprint: tuple[set[int], set[int]] = (set(), set())
    if event_id is None:
        check_scope(user, districts, "record an event here")
        event_id = conn.execute(
            text(
                f"INSERT INTO events ({', '.join(columns)}, created_by, updated_by) VALUES ("
                + ", ".join("ST_GeomFromEWKB(:geom)" if c == "geom" else f":{c}" for c in columns)
                + ", :user, :user) RETURNING id"
            ),
            {**columns, "user": user.id},
        ).scalar_one()
        before, action = None, "create"
    else:
        before = _locked_event(conn, event_id)
        refuse_outdated(conn, before, data.version, "event")
        check_scope(user, before["districts"], "change this event")
        footprint = event_footprint(conn, event_id)
        check_scope(user, districts, "move the event there")
        assignments = ", ".join(
            "geom = ST_GeomFromEWKB(:geom)" if c == "geom" else f"{c} = :{c}" for c in columns
        )
        conn.execute(
            text(
                f"UPDATE events SET {assignments}, version = version + 1, updated_at = now(), "
                "updated_by = :user WHERE id = :id"
            ),
            {**columns, "user": user.id, "id": event_id},
        )
        action = "update"
    _write_links(conn, event_id, data)
    after = event_state(conn, event_id)
    record_change(conn, "event", event_id, after["version"], action, user.id, before, after)
    refresh_participation_indicators(conn, _union(footprint, event_footprint(conn, event_id)))
    return after


def _union(a: tuple[set[int], set[int]], b: tuple[set[int], set[int]]) -> tuple[set, set]:
    return a[0] | b[0], a[1] | b[1]


def _locked_event(conn: Connection, event_id: int) -> dict:
    lock_row(conn, "event", event_id)
    return event_state(conn, event_id)  # a deleted event counts as missing


def delete_event(conn: Connection, event_id: int, version: int, user: User) -> None:
    before = _locked_event(conn, event_id)
    refuse_outdated(conn, before, version, "event")
    check_scope(user, before["districts"], "delete this event")
    footprint = event_footprint(conn, event_id)
    soft_delete(conn, "event", event_id, user.id)
    after = event_state(conn, event_id, with_deleted=True)
    record_change(conn, "event", event_id, after["version"], "delete", user.id, before, after)
    refresh_participation_indicators(conn, footprint)


def _event_where(
    system: str | None,
    region: str | None,
    year: int | None,
    event_type: str | None,
    since: date | None = None,
) -> tuple[str, dict]:
    clauses = ["e.deleted_at IS NULL"]
    params: dict = {}
    if region is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM event_regions er JOIN regions r ON r.id = er.region_id "
            "JOIN region_systems s ON s.id = r.system_id WHERE er.event_id = e.id "
            "AND s.key = :system AND r.code = :region)"
        )
        params.update(system=system, region=region)
    if year is not None:
        clauses.append("extract(year FROM e.held_on) = :year")
        params["year"] = year
    if event_type is not None:
        clauses.append("e.type = :type")
        params["type"] = event_type
    if since is not None:
        clauses.append("e.held_on >= :since")
        params["since"] = since
    return " AND ".join(clauses), params


def list_events(
    conn: Connection,
    *,
    system: str | None = None,
    region: str | None = None,
    year: int | None = None,
    event_type: str | None = None,
    since: date | None = None,
    limit: int = 500,
) -> list[dict]:
    where, params = _event_where(system, region, year, event_type, since)
    rows = conn.execute(
        text(
            "SELECT e.id, e.version, e.type, e.title, e.held_on, e.participants, e.groups, "
            "e.topics, e.outcome, e.districts, e.region_codes AS regions, "
            "ST_AsGeoJSON(ST_Transform(e.geom, 4326), 6)::json AS location "
            f"FROM events e WHERE {where} "
            "ORDER BY e.held_on DESC, e.id DESC LIMIT :limit"
        ),
        {**params, "limit": limit},
    ).all()
    return [dict(r._mapping) for r in rows]


def events_per_year(
    conn: Connection, *, system: str, region: str, since: date
) -> list[tuple[int, int, int]]:
    """(year, events, participants) of a region's events since ``since``, all of them (the
    lists are capped, these counts are not)."""
    where, params = _event_where(system, region, None, None, since)
    rows = conn.execute(
        text(
            "SELECT extract(year FROM e.held_on)::int AS year, count(*) AS n, "
            "coalesce(sum(e.participants), 0)::int AS people "
            f"FROM events e WHERE {where} GROUP BY 1 ORDER BY 1"
        ),
        params,
    ).all()
    return [(r.year, r.n, r.people) for r in rows]


_EVENT_FIELDS = (
    Column("id", "int", "Kennung"),
    Column("type", "text", "Art"),
    Column("title", "text", "Titel"),
    Column("held_on", "date", "Datum"),
    Column("participants", "int", "Teilnehmende"),
    Column("groups", "text", "Zielgruppen"),
    Column("topics", "text", "Themen"),
    Column("outcome", "text", "Ergebnis"),
    Column("regions", "text", "Gebiete"),
    Column("districts", "text", "Bezirke"),
    Column("projects", "text", "Projekte"),
)


def event_source(
    conn: Connection,
    attribution: Attribution,
    *,
    system: str | None = None,
    region: str | None = None,
    year: int | None = None,
    event_type: str | None = None,
) -> FeatureSource:
    """Participation events (for signed-in readers) as points: the location where one was
    given, else a point inside the regions the event was recorded for."""
    where, params = _event_where(system, region, year, event_type)
    relation = (
        "SELECT e.id AS fid, coalesce(e.geom, (SELECT ST_PointOnSurface(ST_Union(r.geom)) "
        "FROM regions r WHERE r.system_id = e.system_id AND r.code = ANY(e.region_codes))) "
        "AS geom, e.id, e.type, e.title, e.held_on, e.participants, "
        "array_to_string(e.groups, ', ') AS groups, array_to_string(e.topics, ', ') AS topics, "
        "e.outcome, array_to_string(e.region_codes, ',') AS regions, "
        f"array_to_string({district_codes_sql('e.districts')}, ',') AS districts, "
        "(SELECT string_agg(ep.project_id::text, ',' ORDER BY ep.project_id) "
        "FROM event_projects ep WHERE ep.event_id = e.id) AS projects "
        f"FROM events e WHERE {where}"
    )
    parts = ["participation-events"] + [str(v) for v in (region, event_type, year) if v]
    return FeatureSource(
        name="_".join(slug(p).replace("_", "-") for p in parts),
        title="Beteiligungsveranstaltungen",
        relation=relation,
        params=params,
        fields=_EVENT_FIELDS,
        geometry_type="Point",
        srid=storage_srid(conn),
        attributions=(attribution,),
        temporal=("held_on", "held_on"),
        extent=extent_of(conn, "events WHERE deleted_at IS NULL AND geom IS NOT NULL", {}),
    )
