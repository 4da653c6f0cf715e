"""Users, their role (viewer, coordinator, admin) and the districts a coordinator works in
(regions of the coarsest level of a region system, named ``<system>:<code>``: the same code
is another place in another city); passwords hashed with argon2."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.errors import SozialraumError

ROLES = ("viewer", "coordinator", "admin")
ROLE_LABELS = {"viewer": "Lesen", "coordinator": "Koordination", "admin": "Administration"}
MIN_PASSWORD = 10
DISTRICT_SEPARATOR = ":"
_HASHER = PasswordHasher()
# each check holds 64 MiB: a burst of sign-ins waits here instead of exhausting memory
_HASHING = threading.BoundedSemaphore(4)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class AccountError(SozialraumError):
    """A user name, role, district or password that cannot be accepted."""


class UnknownUser(AccountError):
    """No such user."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    districts: tuple[str, ...] = field(default_factory=tuple)
    active: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_edit(self, districts: list[str] | tuple[str, ...]) -> bool:
        """Whether this user may write a record that lies in ``districts`` (``system:code``):
        admins always; coordinators when, in some region system, the record lies in districts
        of that system and all of them are assigned to them (a record is in districts of every
        system that covers it, e.g. both LOR versions of one city)."""
        if self.role == "admin":
            return True
        if self.role != "coordinator" or not districts:
            return False
        mine = set(self.districts)
        by_system: dict[str, set[str]] = {}
        for key in districts:
            by_system.setdefault(split_district(key)[0], set()).add(key)
        return any(keys <= mine for keys in by_system.values())


def district_key(system: str, code: str) -> str:
    """How a district is named: its region system and its code."""
    return f"{system}{DISTRICT_SEPARATOR}{code}"


def split_district(key: str) -> tuple[str, str]:
    """(system, code) of a district name (system keys never hold the separator)."""
    system, _, code = key.partition(DISTRICT_SEPARATOR)
    return system, code


_COLUMNS = "id, username, display_name, role, districts, active"


def _user(row) -> User:
    return User(**{**row._mapping, "districts": tuple(row.districts or ())})


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def check_districts(conn: Connection, districts: list[str]) -> list[str]:
    """The districts a coordinator is given, as ``system:code``. Each must name a region of the
    coarsest level of its system; a bare code stands for that district in every system of one
    city (both LOR versions of a Bezirk) and is refused when cities share it."""
    if not districts:
        return []
    rows = conn.execute(
        text(
            "SELECT s.key AS system, s.city, r.code FROM regions r "
            "JOIN region_levels l ON l.id = r.level_id JOIN region_systems s ON s.id = r.system_id "
            "WHERE l.rank = (SELECT min(rank) FROM region_levels m WHERE m.system_id = l.system_id)"
            " AND (r.code = ANY(:codes) OR s.key || :sep || r.code = ANY(:codes))"
        ),
        {"codes": [d.strip() for d in districts], "sep": DISTRICT_SEPARATOR},
    ).all()
    keyed = {district_key(r.system, r.code) for r in rows}
    found, unknown = set(), []
    for given in (d.strip() for d in districts):
        if DISTRICT_SEPARATOR in given:
            found.add(given) if given in keyed else unknown.append(given)
            continue
        matches = [r for r in rows if r.code == given]
        cities = sorted({r.city for r in matches})
        if not matches:
            unknown.append(given)
        elif len(cities) > 1:
            examples = ", ".join(sorted({district_key(r.system, given) for r in matches}))
            raise AccountError(
                f"district code {given!r} is in several cities ({', '.join(cities)}): "
                f"name it with its region system ({examples})"
            )
        else:
            found |= {district_key(r.system, given) for r in matches}
    if unknown:
        raise AccountError(
            f"unknown district(s): {', '.join(unknown)} (a code of the coarsest level of a "
            "region system, e.g. <system>:<code>)"
        )
    return sorted(found)


def add_user(
    conn: Connection,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    districts: list[str] | None = None,
) -> User:
    if not _NAME.match(username):
        raise AccountError(
            f"user name {username!r}: 2–63 characters, lower-case letters, digits, . _ -"
        )
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    codes = check_districts(conn, districts or [])
    if role == "coordinator" and not codes:
        raise AccountError("a coordinator needs at least one district (e.g. --district 10)")
    exists = conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username})
    if exists.first():
        raise AccountError(f"user {username!r} exists already")
    row = conn.execute(
        text(
            "INSERT INTO users (username, display_name, password_hash, role, districts) "
            f"VALUES (:u, :d, :h, :r, :districts) RETURNING {_COLUMNS}"
        ),
        {
            "u": username,
            "d": display_name or username,
            "h": hash_password(password),
            "r": role,
            "districts": codes,
        },
    ).one()
    return _user(row)


def list_users(conn: Connection) -> list[User]:
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM users ORDER BY username")).all()
    return [_user(r) for r in rows]


def get_user(conn: Connection, username: str) -> User:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM users WHERE username = :u"), {"u": username}
    ).first()
    if row is None:
        raise UnknownUser(f"unknown user {username!r}")
    return _user(row)


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM users WHERE id = :id AND active"), {"id": user_id}
    ).first()
    return _user(row) if row else None


def disable_user(conn: Connection, username: str) -> User:
    """Disable an account and end its sessions and tokens (the user and their history stay)."""
    user = get_user(conn, username)
    conn.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": user.id})
    _end_access(conn, user.id)
    return get_user(conn, username)


def _end_access(conn: Connection, user_id: int) -> None:
    """End every session and revoke every token of the user."""
    conn.execute(text("DELETE FROM user_sessions WHERE user_id = :id"), {"id": user_id})
    conn.execute(
        text("UPDATE api_tokens SET revoked_at = now() WHERE user_id = :id AND revoked_at IS NULL"),
        {"id": user_id},
    )


def set_password(conn: Connection, username: str, password: str) -> None:
    """A new password; the user's open sessions end and their API tokens are revoked (whoever
    knew the old password may have made one)."""
    user = get_user(conn, username)
    conn.execute(
        text("UPDATE users SET password_hash = :h WHERE id = :id"),
        {"h": hash_password(password), "id": user.id},
    )
    _end_access(conn, user.id)


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (same answer for every failure)."""
    row = conn.execute(
        text(f"SELECT {_COLUMNS}, password_hash FROM users WHERE username = :u"),
        {"u": username.strip().lower()},
    ).first()
    if row is None:
        # spend the same time as a real check so that names cannot be probed by timing
        _safe_verify(_DUMMY_HASH, password)
        return None
    if not _safe_verify(row.password_hash, password) or not row.active:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        conn.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": _HASHER.hash(password), "id": row.id},
        )
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        districts=tuple(row.districts or ()),
        active=row.active,
    )


def _safe_verify(hashed: str, password: str) -> bool:
    with _HASHING:
        try:
            return _HASHER.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False


_DUMMY_HASH = _HASHER.hash("not a password of anyone")
