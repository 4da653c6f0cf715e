"""The history of every record: who changed what when, with the state before and after, and the
erasure of a withdrawn contact's personal fields from every stored state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from records.errors import RecordNotFound

PERSONAL_FIELDS = ("name", "organisation", "email", "phone")


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    version: int
    action: str
    user: str | None
    at: datetime
    before: dict | None
    after: dict | None

    def changed_fields(self) -> list[str]:
        return changed_fields(self.before, self.after)


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def record_change(
    conn: Connection,
    entity: str,
    entity_id: int,
    version: int,
    action: str,
    user_id: int | None,
    before: dict | None,
    after: dict | None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO history (entity, entity_id, version, action, user_id, at, before, after) "
            "VALUES (:e, :id, :v, :a, :u, clock_timestamp(), CAST(:b AS jsonb), "
            "CAST(:af AS jsonb))"
        ),
        {
            "e": entity,
            "id": entity_id,
            "v": version,
            "a": action,
            "u": user_id,
            "b": json.dumps(before, default=str) if before is not None else None,
            "af": json.dumps(after, default=str) if after is not None else None,
        },
    )


def history_of(conn: Connection, entity: str, entity_id: int) -> list[HistoryEntry]:
    """Oldest first."""
    rows = conn.execute(
        text(
            "SELECT h.id, h.version, h.action, u.display_name AS user, h.at, h.before, h.after "
            "FROM history h LEFT JOIN users u ON u.id = h.user_id "
            "WHERE h.entity = :e AND h.entity_id = :id ORDER BY h.id"
        ),
        {"e": entity, "id": entity_id},
    ).all()
    return [HistoryEntry(**r._mapping) for r in rows]


def state_at(conn: Connection, entity: str, entity_id: int, version: int) -> dict:
    """The state a record had at ``version`` (what the write that made it left behind)."""
    row = conn.execute(
        text(
            "SELECT after FROM history WHERE entity = :e AND entity_id = :id AND version = :v "
            "AND after IS NOT NULL ORDER BY id DESC LIMIT 1"
        ),
        {"e": entity, "id": entity_id, "v": version},
    ).first()
    if row is None:
        raise RecordNotFound(f"{entity} {entity_id} has no version {version}")
    return row.after


def erase_contact_from_history(conn: Connection, project_id: int, contact_id: int) -> int:
    """Blank a contact's personal fields in every stored state of its project; returns the
    number of history entries rewritten."""
    rows = conn.execute(
        text("SELECT id, before, after FROM history WHERE entity = 'project' AND entity_id = :p"),
        {"p": project_id},
    ).all()
    rewritten = 0
    for row in rows:
        before, after = _erase(row.before, contact_id), _erase(row.after, contact_id)
        if (before, after) != (row.before, row.after):
            conn.execute(
                text(
                    "UPDATE history SET before = CAST(:b AS jsonb), after = CAST(:a AS jsonb) "
                    "WHERE id = :id"
                ),
                {
                    "id": row.id,
                    "b": json.dumps(before) if before is not None else None,
                    "a": json.dumps(after) if after is not None else None,
                },
            )
            rewritten += 1
    return rewritten


def _erase(state: dict | None, contact_id: int) -> dict | None:
    if not state:
        return state
    contacts = state.get("contacts")
    if not contacts:
        return state
    erased = [
        {**c, **dict.fromkeys(PERSONAL_FIELDS), "withdrawn": True}
        if c.get("id") == contact_id
        else c
        for c in contacts
    ]
    return {**state, "contacts": erased}


def without_contacts(state: dict | None) -> dict | None:
    """A state as shown to readers who may not see personal data."""
    if not state or "contacts" not in state:
        return state
    return {k: v for k, v in state.items() if k != "contacts"}
