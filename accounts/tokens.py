"""Web sessions (a random cookie value with its CSRF token) and API bearer tokens. Only SHA-256
digests of the secrets are stored, so a copy of the database opens no account."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User, get_user, user_by_id

TOKEN_PREFIX = "szt_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


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
    # expired sessions are cleared on the way, no scheduler needed
    conn.execute(text("DELETE FROM user_sessions WHERE expires_at < now()"))
    return secret, csrf


def session_of(conn: Connection, secret: str) -> Session | None:
    row = conn.execute(
        text(
            "SELECT user_id, csrf_token FROM user_sessions "
            "WHERE token_hash = :h AND expires_at > now()"
        ),
        {"h": digest(secret)},
    ).first()
    if row is None:
        return None
    user = user_by_id(conn, row.user_id)
    return Session(user, row.csrf_token) if user else None


def close_session(conn: Connection, secret: str) -> None:
    conn.execute(text("DELETE FROM user_sessions WHERE token_hash = :h"), {"h": digest(secret)})


def create_token(conn: Connection, username: str, name: str) -> str:
    """A new API token for the user; the secret is shown once and never stored."""
    user = get_user(conn, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO api_tokens (user_id, name, token_hash) VALUES (:u, :n, :h)"),
        {"u": user.id, "n": name, "h": digest(secret)},
    )
    return secret


def token_user(conn: Connection, secret: str) -> User | None:
    row = conn.execute(
        text("SELECT user_id FROM api_tokens WHERE token_hash = :h AND revoked_at IS NULL"),
        {"h": digest(secret)},
    ).first()
    return user_by_id(conn, row.user_id) if row else None
