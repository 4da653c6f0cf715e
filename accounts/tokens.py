"""Web sessions (a random cookie value with its CSRF token) and API bearer tokens. Only SHA-256
digests of the secrets are stored, so a copy of the database opens no account."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import AccountError, User, get_user, user_by_id

TOKEN_PREFIX = "szt_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


# a session's expiry moves with its use, written at most this often (not on every request)
SLIDE_EVERY = timedelta(minutes=5)
TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366


class TokenError(AccountError):
    """A token that cannot be made or revoked as asked."""


def open_session(conn: Connection, user: User, lifetime: timedelta) -> tuple[str, str]:
    """A new session: returns (cookie value, CSRF token)."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO user_sessions (token_hash, user_id, csrf_token, expires_at) "
            "VALUES (:h, :u, :c, now() + :life)"
        ),
        {"h": digest(secret), "u": user.id, "c": csrf, "life": lifetime},
    )
    # expired sessions and old failed sign-ins are cleared on the way, no scheduler needed
    conn.execute(text("DELETE FROM user_sessions WHERE expires_at < now()"))
    return secret, csrf


def session_of(conn: Connection, secret: str, lifetime: timedelta) -> Session | None:
    """The live session of this cookie value. Its expiry slides: a session ends ``lifetime``
    after its last use (moved forward at most every ``SLIDE_EVERY``; the caller commits)."""
    row = conn.execute(
        text(
            "SELECT user_id, csrf_token, expires_at < now() + :life - :slide AS stale "
            "FROM user_sessions WHERE token_hash = :h AND expires_at > now()"
        ),
        {"h": digest(secret), "life": lifetime, "slide": SLIDE_EVERY},
    ).first()
    if row is None:
        return None
    user = user_by_id(conn, row.user_id)
    if user is None:
        return None
    if row.stale:
        conn.execute(
            text("UPDATE user_sessions SET expires_at = now() + :life WHERE token_hash = :h"),
            {"h": digest(secret), "life": lifetime},
        )
    return Session(user, row.csrf_token)


def close_session(conn: Connection, secret: str) -> None:
    conn.execute(text("DELETE FROM user_sessions WHERE token_hash = :h"), {"h": digest(secret)})


def create_token(conn: Connection, username: str, name: str, days: int = TOKEN_DAYS) -> str:
    """A new API token for the user, valid for ``days``; the secret is shown once and never
    stored."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise TokenError(f"a token is valid for 1 to {MAX_TOKEN_DAYS} days, not {days}")
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters (what it is for)")
    user = get_user(conn, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO api_tokens (user_id, name, token_hash, expires_at) "
            "VALUES (:u, :n, :h, now() + make_interval(days => :days))"
        ),
        {"u": user.id, "n": name, "h": digest(secret), "days": days},
    )
    return secret


def token_user(conn: Connection, secret: str) -> User | None:
    """The user of a live token (not revoked, not expired); its last use is noted hourly (the
    caller commits)."""
    row = conn.execute(
        text(
            "SELECT id, user_id, last_used_at IS NULL OR last_used_at < now() - interval '1 hour'"
            " AS stale FROM api_tokens "
            "WHERE token_hash = :h AND revoked_at IS NULL AND expires_at > now()"
        ),
        {"h": digest(secret)},
    ).first()
    if row is None:
        return None
    user = user_by_id(conn, row.user_id)
    if user is not None and row.stale:
        conn.execute(
            text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"), {"id": row.id}
        )
    return user


def list_tokens(conn: Connection, username: str) -> list[dict]:
    """The user's tokens (never their secrets), newest first, with their state."""
    user = get_user(conn, username)
    rows = conn.execute(
        text(
            "SELECT id, name, created_at, expires_at, last_used_at, revoked_at, "
            "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' "
            "WHEN expires_at <= now() THEN 'expired' ELSE 'active' END AS state "
            "FROM api_tokens WHERE user_id = :u ORDER BY created_at DESC, id DESC"
        ),
        {"u": user.id},
    ).all()
    return [dict(r._mapping) for r in rows]


def revoke_token(conn: Connection, username: str, token_id: int) -> dict:
    """Revoke one of the user's tokens (at once, for every worker); the others stay."""
    user = get_user(conn, username)
    row = conn.execute(
        text(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE id = :id AND user_id = :u RETURNING id"
        ),
        {"id": token_id, "u": user.id},
    ).first()
    if row is None:
        raise TokenError(f"user {username!r} has no token {token_id}")
    return next(t for t in list_tokens(conn, username) if t["id"] == token_id)
