"""The written sections of a region profile: the district's goals and strategies, needs for
action, local resources and actors, and free sections. Markdown text, edited by the
coordinators of the district the region lies in, every save a new version in the history
(restorable like projects); sections not marked public stay with signed-in readers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User
from records.districts import districts_of_regions
from records.errors import InvalidRecord, RecordNotFound, VersionConflict
from records.history import record_change, state_at
from records.versioning import check_scope, lock_row, refuse_outdated, soft_delete
from spatial.cities import STANDARD_SECTIONS

# every profile has these, written or not (key → heading), in this order, before free ones
FREE_PREFIX = "frei-"


class SectionInput(BaseModel):
    """What a coordinator writes; ``version`` is the one the change is based on (0: new)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(max_length=200)] = ""
    body: Annotated[str, Field(max_length=100_000)] = ""
    public: bool = False
    position: Annotated[int, Field(ge=0, le=1000)] = 0
    version: Annotated[int, Field(ge=0)] = 0


def district_of(conn: Connection, region_id: int) -> list[str]:
    """The district (``system:code``) a profile's region lies in."""
    found = districts_of_regions(conn, [region_id])
    if not found:
        raise RecordNotFound(f"region {region_id} does not exist")
    return found


_STATE = """
SELECT s.id, s.region_id, s.key, s.version, s.title, s.body, s.public, s.position, s.districts,
       s.deleted_at IS NOT NULL AS deleted, s.updated_at, u.display_name AS updated_by
FROM profile_sections s LEFT JOIN users u ON u.id = s.updated_by
"""


def section_state(conn: Connection, section_id: int, *, with_deleted: bool = False) -> dict:
    row = conn.execute(text(_STATE + "WHERE s.id = :id"), {"id": section_id}).first()
    if row is None or (row.deleted and not with_deleted):
        raise RecordNotFound(f"section {section_id} does not exist")
    return _state(row)


def _state(row) -> dict:
    state = dict(row._mapping)
    state["updated_at"] = state["updated_at"].isoformat()
    return state


def sections_of(
    conn: Connection,
    region_id: int,
    *,
    public_only: bool,
    standard: dict[str, str] = STANDARD_SECTIONS,
) -> list[dict]:
    """The region's current sections: the standard ones in their order, then free ones by
    position. Deleted sections are left out, and for anonymous readers the non-public ones."""
    order = list(standard)
    rows = conn.execute(
        text(
            _STATE + "WHERE s.region_id = :region AND s.deleted_at IS NULL "
            "AND (s.public OR NOT :public_only) "
            "ORDER BY array_position(CAST(:order AS text[]), s.key) NULLS LAST, s.position, s.id"
        ),
        {"region": region_id, "public_only": public_only, "order": order},
    ).all()
    return [_state(r) for r in rows]


def _find(conn: Connection, region_id: int, key: str) -> int | None:
    return conn.execute(
        text("SELECT id FROM profile_sections WHERE region_id = :r AND key = :k"),
        {"r": region_id, "k": key},
    ).scalar()


def section_id_of(conn: Connection, region_id: int, key: str) -> int:
    """The id of a region's section (deleted ones too: they can be restored)."""
    found = _find(conn, region_id, key)
    if found is None:
        raise RecordNotFound(f"the profile has no section {key!r}")
    return found


def save_section(
    conn: Connection,
    region_id: int,
    key: str | None,
    data: SectionInput,
    user: User,
    standard: dict[str, str] = STANDARD_SECTIONS,
) -> dict:
    """Create or change a section (``key`` None: a new free section). A change must be based on
    the current version; the first version of a section is based on version 0. ``standard``:
    the city's standard sections (key → heading)."""
    if key is not None and key not in standard and not key.startswith(FREE_PREFIX):
        raise RecordNotFound(f"a profile has no section {key!r}")
    existing = _find(conn, region_id, key) if key is not None else None
    if existing is not None:
        return update_section(conn, existing, data, user)
    if key is not None and key.startswith(FREE_PREFIX):
        raise RecordNotFound(f"the profile has no section {key!r}")
    return _create(conn, region_id, key, _title(key, data, standard), data, user)


def _title(key: str | None, data: SectionInput, standard: dict[str, str]) -> str:
    """The written title, else the standard section's heading; free sections need one."""
    title = data.title.strip() or standard.get(key or "", "")
    if not title:
        raise InvalidRecord("a free section needs a title")
    return title


def _create(
    conn: Connection, region_id: int, key: str | None, title: str, data: SectionInput, user: User
) -> dict:
    districts = district_of(conn, region_id)
    check_scope(user, districts, "write this profile")
    if data.version != 0:
        raise RecordNotFound(f"the section has no version {data.version}")
    if key is None:  # the next free number; the unique index settles a race
        used = conn.execute(
            text(
                "SELECT coalesce(max(substring(key FROM 6)::int), 0) FROM profile_sections "
                "WHERE region_id = :r AND key LIKE 'frei-%'"
            ),
            {"r": region_id},
        ).scalar_one()
        key = f"{FREE_PREFIX}{used + 1}"
    section_id = conn.execute(
        text(
            """
            INSERT INTO profile_sections (region_id, key, title, body, public, position,
                                          districts, created_by, updated_by)
            VALUES (:region, :key, :title, :body, :public, :position, :districts, :u, :u)
            ON CONFLICT (region_id, key) DO NOTHING RETURNING id
            """
        ),
        {
            "region": region_id,
            "key": key,
            "title": title,
            "body": data.body,
            "public": data.public,
            "position": data.position,
            "districts": districts,
            "u": user.id,
        },
    ).scalar()
    if section_id is None:
        raise VersionConflict(
            f"the section {key!r} was just written by someone else; nothing was saved — "
            "reload the profile and apply your change again",
            {},
            {},
        )
    state = section_state(conn, section_id)
    record_change(conn, "section", section_id, 1, "create", user.id, None, _history(state))
    return state


def _history(state: dict) -> dict:
    """What the history keeps of a state (who and when are in the history row itself)."""
    return {k: v for k, v in state.items() if k not in ("updated_at", "updated_by")}


def _locked(conn: Connection, section_id: int) -> dict:
    lock_row(conn, "section", section_id)
    return section_state(conn, section_id, with_deleted=True)


def update_section(
    conn: Connection, section_id: int, data: SectionInput, user: User, *, action: str = "update"
) -> dict:
    before = _locked(conn, section_id)
    refuse_outdated(conn, before, data.version, "section")
    check_scope(user, before["districts"], "change this profile section")
    # a standard section keeps its heading when none is written; a free one needs its title
    standard = {} if before["key"].startswith(FREE_PREFIX) else {before["key"]: before["title"]}
    title = _title(before["key"], data, standard)
    conn.execute(
        text(
            """
            UPDATE profile_sections SET title = :title, body = :body, public = :public,
                position = :position, version = version + 1, updated_at = now(),
                updated_by = :u, deleted_at = NULL, deleted_by = NULL
            WHERE id = :id
            """
        ),
        {
            "title": title,
            "body": data.body,
            "public": data.public,
            "position": data.position,
            "u": user.id,
            "id": section_id,
        },
    )
    after = section_state(conn, section_id)
    record_change(
        conn,
        "section",
        section_id,
        after["version"],
        action,
        user.id,
        _history(before),
        _history(after),
    )
    return after


def delete_section(conn: Connection, section_id: int, version: int, user: User) -> dict:
    """Hidden from the profile, kept with its history, restorable."""
    before = _locked(conn, section_id)
    if before["deleted"]:
        raise RecordNotFound(f"section {section_id} does not exist")
    refuse_outdated(conn, before, version, "section")
    check_scope(user, before["districts"], "delete this profile section")
    soft_delete(conn, "section", section_id, user.id)
    after = section_state(conn, section_id, with_deleted=True)
    record_change(
        conn,
        "section",
        section_id,
        after["version"],
        "delete",
        user.id,
        _history(before),
        _history(after),
    )
    return after


def restore_section(
    conn: Connection, section_id: int, restore_version: int, base_version: int, user: User
) -> dict:
    """Make an earlier version the current one again (as a new version)."""
    earlier = state_at(conn, "section", section_id, restore_version)
    data = SectionInput(
        title=earlier["title"],
        body=earlier["body"],
        public=earlier["public"],
        position=earlier.get("position", 0),
        version=base_version,
    )
    return update_section(conn, section_id, data, user, action="restore")
