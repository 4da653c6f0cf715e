"""What every versioned record shares: the district scope of a write, the row lock writers queue
on, the refusal of a write based on an outdated version (with what changed since), and the soft
delete."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User
from records.errors import Forbidden, RecordNotFound, VersionConflict
from records.history import changed_fields, state_at
from spatial.settings import DEPLOYMENT

# entity name (as in the history) → its table; fixed names, never user input
TABLES = {"project": "projects", "event": "events", "section": "profile_sections"}


def check_scope(user: User, districts: list[str], what: str) -> None:
    if not user.may_edit(districts):
        if user.role not in ("coordinator", "admin"):
            raise Forbidden(f"the role {user.role!r} may not {what}")
        outside = sorted(set(districts) - set(user.districts)) or ["(none)"]
        raise Forbidden(
            f"you may not {what}: it lies in district(s) {', '.join(outside)}, "
            f"not assigned to you ({', '.join(user.districts) or 'none'})"
        )


def lock_row(conn: Connection, entity: str, record_id: int) -> None:
    """Lock the record's row until the transaction ends, so concurrent writers queue here and
    each sees the version the one before it left."""
    found = conn.execute(
        text(f"SELECT id FROM {TABLES[entity]} WHERE id = :id FOR UPDATE"), {"id": record_id}
    ).first()
    if found is None:
        raise RecordNotFound(f"{entity} {record_id} does not exist")


def refuse_outdated(conn: Connection, current: dict, base: int, entity: str = "project") -> None:
    """A write based on an older version than ``current`` is refused with what changed since."""
    if current["version"] == base:
        return
    try:
        based_on = state_at(conn, entity, current["id"], base)
    except RecordNotFound:
        based_on = {}
    fields = [f for f in changed_fields(based_on, current) if f not in ("version", "contacts")]
    changes = {f: {"before": based_on.get(f), "now": current.get(f)} for f in fields}
    who = conn.execute(
        text(
            "SELECT u.display_name, to_char(h.at AT TIME ZONE :zone, "
            "'DD.MM.YYYY HH24:MI') AS at FROM history h LEFT JOIN users u ON u.id = h.user_id "
            "WHERE h.entity = :entity AND h.entity_id = :id ORDER BY h.id DESC LIMIT 1"
        ),
        {"id": current["id"], "entity": entity, "zone": DEPLOYMENT.timezone},
    ).first()
    by = f" by {who.display_name} on {who.at}" if who and who.display_name else ""
    raise VersionConflict(
        f"{entity} {current['id']} was changed{by} since version {base}: it is at version "
        f"{current['version']} (changed: {', '.join(fields) or 'nothing visible'}); "
        "nothing was saved — reload it and apply your change again",
        current,
        changes,
    )


def soft_delete(conn: Connection, entity: str, record_id: int, user_id: int) -> None:
    """Hidden everywhere, kept with its history, restorable; a new version like any write."""
    conn.execute(
        text(
            f"UPDATE {TABLES[entity]} SET deleted_at = now(), deleted_by = :u, "
            "version = version + 1, updated_at = now(), updated_by = :u WHERE id = :id"
        ),
        {"u": user_id, "id": record_id},
    )
