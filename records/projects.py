"""Projects: create, update (optimistic concurrency by version), soft delete and restore, each
recorded in the history; the regions a project touches at every level of every region system,
with the share of its area (or length, or points) in each, kept in step with its geometry."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User
from records.errors import RecordNotFound
from records.geometry import prepare_geometry
from records.history import record_change, state_at
from records.settings import RecordSettings
from records.versioning import check_scope, lock_row, refuse_outdated, soft_delete
from records.vocabulary import PROJECT_STATUSES, PROJECT_TOPICS, check_choice

Text = Annotated[str, Field(max_length=20_000)]
ShortText = Annotated[str, Field(max_length=500)]


def _web_link(value: str | None) -> str | None:
    if value and not value.startswith(("https://", "http://")):
        raise ValueError("the link must start with https:// or http://")
    return value or None


class ProjectInput(BaseModel):
    """What a coordinator enters; the geometry is GeoJSON (WGS 84 unless ``crs`` says)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Text = ""
    status: Annotated[str, AfterValidator(lambda v: check_choice(v, PROJECT_STATUSES, "status"))]
    topic: Annotated[str, AfterValidator(lambda v: check_choice(v, PROJECT_TOPICS, "topic"))]
    funding_programme: ShortText | None = None
    organisation: ShortText | None = None
    start_date: date | None = None
    end_date: date | None = None
    participation_text: Text | None = None
    participation_url: Annotated[ShortText | None, AfterValidator(_web_link)] = None
    public: bool = False
    geometry: dict
    crs: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> ProjectInput:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError(
                f"the end date {self.end_date:%d.%m.%Y} lies before the start date "
                f"{self.start_date:%d.%m.%Y}"
            )
        if not self.title.strip():
            raise ValueError("the title must not be blank")
        return self


class ProjectUpdate(ProjectInput):
    version: int = Field(ge=1, description="The version the change is based on.")


FIELDS = (
    "title",
    "description",
    "status",
    "topic",
    "funding_programme",
    "organisation",
    "start_date",
    "end_date",
    "participation_text",
    "participation_url",
    "public",
)


def project_state(conn: Connection, project_id: int, *, with_deleted: bool = False) -> dict:
    """A project as stored: fields, geometry (GeoJSON, WGS 84), districts, contacts."""
    row = conn.execute(
        text(
            f"""
            SELECT id, version, {", ".join(FIELDS)}, districts, deleted_at,
                   ST_AsGeoJSON(ST_Transform(geom, 4326), 7)::json AS geometry,
                   (SELECT coalesce(json_agg(json_build_object(
                        'id', c.id, 'name', c.name, 'organisation', c.organisation,
                        'email', c.email, 'phone', c.phone, 'consent_date', c.consent_date,
                        'consent_purpose', c.consent_purpose,
                        'withdrawn', c.withdrawn_at IS NOT NULL) ORDER BY c.id), '[]'::json)
                    FROM contacts c WHERE c.project_id = p.id) AS contacts
            FROM projects p WHERE id = :id
            """
        ),
        {"id": project_id},
    ).first()
    if row is None or (row.deleted_at is not None and not with_deleted):
        raise RecordNotFound(f"project {project_id} does not exist")
    state = dict(row._mapping)
    state["deleted"] = state.pop("deleted_at") is not None
    for key in ("start_date", "end_date"):
        state[key] = state[key].isoformat() if state[key] else None
    return state


def create_project(
    conn: Connection, data: ProjectInput, user: User, srid: int, settings: RecordSettings
) -> tuple[dict, list[str]]:
    """Returns the new project's state and notes (e.g. a repaired geometry)."""
    geometry = prepare_geometry(conn, data.geometry, data.crs, srid, settings)
    check_scope(user, geometry.districts, "create a project here")
    values = data.model_dump(include=set(FIELDS))
    project_id = conn.execute(
        text(
            f"""
            INSERT INTO projects ({", ".join(FIELDS)}, geom, districts, created_by, updated_by)
            VALUES ({", ".join(":" + f for f in FIELDS)}, ST_GeomFromEWKB(:geom), :districts,
                    :user, :user)
            RETURNING id
            """
        ),
        {**values, "geom": geometry.ewkb, "districts": geometry.districts, "user": user.id},
    ).scalar_one()
    assign_project_regions(conn, project_id)
    state = project_state(conn, project_id)
    record_change(conn, "project", project_id, 1, "create", user.id, None, state)
    return state, geometry.notes


def lock_project(conn: Connection, project_id: int) -> dict:
    """The current state (deleted or not), the row locked until the transaction ends."""
    lock_row(conn, "project", project_id)
    return project_state(conn, project_id, with_deleted=True)


def update_project(
    conn: Connection,
    project_id: int,
    data: ProjectUpdate,
    user: User,
    srid: int,
    settings: RecordSettings,
    *,
    action: str = "update",
) -> tuple[dict, list[str]]:
    geometry = prepare_geometry(conn, data.geometry, data.crs, srid, settings)
    before = lock_project(conn, project_id)
    if before["deleted"] and action != "restore":
        raise RecordNotFound(f"project {project_id} does not exist")
    refuse_outdated(conn, before, data.version)
    check_scope(user, before["districts"], "change this project")
    check_scope(user, geometry.districts, "move the project there")
    values = data.model_dump(include=set(FIELDS))
    conn.execute(
        text(
            f"""
            UPDATE projects SET {", ".join(f"{f} = :{f}" for f in FIELDS)},
                geom = ST_GeomFromEWKB(:geom), districts = :districts, version = version + 1,
                updated_at = now(), updated_by = :user, deleted_at = NULL, deleted_by = NULL
            WHERE id = :id
            """
        ),
        {
            **values,
            "geom": geometry.ewkb,
            "districts": geometry.districts,
            "user": user.id,
            "id": project_id,
        },
    )
    assign_project_regions(conn, project_id)
    after = project_state(conn, project_id)
    record_change(conn, "project", project_id, after["version"], action, user.id, before, after)
    return after, geometry.notes


def delete_project(conn: Connection, project_id: int, version: int, user: User) -> dict:
    """Soft delete: hidden everywhere, kept with its history, restorable."""
    before = lock_project(conn, project_id)
    if before["deleted"]:
        raise RecordNotFound(f"project {project_id} does not exist")
    refuse_outdated(conn, before, version)
    check_scope(user, before["districts"], "delete this project")
    soft_delete(conn, "project", project_id, user.id)
    after = project_state(conn, project_id, with_deleted=True)
    record_change(conn, "project", project_id, after["version"], "delete", user.id, before, after)
    return after


def restore_project(
    conn: Connection,
    project_id: int,
    restore_version: int,
    base_version: int,
    user: User,
    srid: int,
    settings: RecordSettings,
) -> tuple[dict, list[str]]:
    """Make an earlier version the current one again (a new version; deleted projects return)."""
    earlier = state_at(conn, "project", project_id, restore_version)
    data = ProjectUpdate(
        **{f: earlier.get(f) for f in FIELDS},
        geometry=earlier["geometry"],
        version=base_version,
    )
    return update_project(conn, project_id, data, user, srid, settings, action="restore")


def assign_project_regions(conn: Connection, project_id: int) -> int:
    """The regions the project touches at every level of every system, with the share of its
    highest-dimension parts (area, else length, else points) inside each."""
    conn.execute(text("DELETE FROM project_regions WHERE project_id = :id"), {"id": project_id})
    return conn.execute(
        text(
            """
            WITH g AS (
                SELECT geom, ST_CollectionExtract(geom, 3) AS a, ST_CollectionExtract(geom, 2) AS l,
                       ST_CollectionExtract(geom, 1) AS p
                FROM projects WHERE id = :id
            )
            INSERT INTO project_regions (project_id, region_id, level_id, share)
            SELECT :id, r.id, r.level_id,
                   CASE WHEN NOT ST_IsEmpty(g.a) THEN
                            ST_Area(ST_Intersection(r.geom, g.a)) / ST_Area(g.a)
                        WHEN NOT ST_IsEmpty(g.l) THEN
                            ST_Length(ST_Intersection(r.geom, g.l)) / ST_Length(g.l)
                        ELSE ST_NPoints(ST_Intersection(r.geom, g.p))::float / ST_NPoints(g.p)
                   END
            FROM g JOIN regions r ON ST_Intersects(r.geom, g.geom)
            """
        ),
        {"id": project_id},
    ).rowcount
