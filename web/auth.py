"""Who is asking: a bearer token (API clients) or the session cookie (the web UI), resolved once
per request; write requests from a session must carry its CSRF token (header ``X-CSRF-Token``
or form field ``csrf_token``), token requests need none (no ambient credentials)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request
from sqlalchemy.engine import Connection, Engine

from accounts.tokens import session_of, token_user
from accounts.users import User
from records.errors import Forbidden
from records.settings import RecordSettings
from spatial.errors import SozialraumError

SESSION_COOKIE = "sz_session"
LOGIN_CSRF_COOKIE = "sz_login_csrf"
CSRF_HEADER = "X-CSRF-Token"


class NotSignedIn(SozialraumError):
    """The request needs a signed-in user (401)."""


class CsrfRejected(SozialraumError):
    """A state-changing request from a session without its CSRF token (403)."""


@dataclass(frozen=True)
class Visitor:
    """The user behind a request (None: anonymous) and how they came."""

    user: User | None = None
    csrf_token: str | None = None
    via: str | None = None  # "session" or "token"

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    def may_edit(self, districts) -> bool:
        return self.user is not None and self.user.may_edit(districts)

    def may_see_contacts(self, districts) -> bool:
        return self.may_edit(districts)


_SESSION = SESSION_COOKIE.encode() + b"="


def credentials_in(scope: dict) -> bool:
    """Whether a request (its ASGI scope) names someone: a bearer token or a session cookie.
    The connection it reads from and whether its answer may be cached both follow this."""
    headers = dict(scope["headers"])
    return b"authorization" in headers or _SESSION in headers.get(b"cookie", b"")


def has_credentials(request: Request) -> bool:
    """``credentials_in`` of a request."""
    return credentials_in(request.scope)


def resolve_visitor(request: Request, conn: Connection) -> Visitor:
    """The request's visitor, looked up on ``conn`` (the request's own connection) and kept on
    the request; a request never holds a second connection for it."""
    if hasattr(request.state, "visitor"):
        return request.state.visitor
    visitor = Visitor()
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if header.lower().startswith("bearer "):
        user = token_user(conn, header[7:].strip())
        if user is None:
            raise NotSignedIn("the bearer token is unknown, expired or revoked")
        visitor = Visitor(user, None, "token")
    elif cookie:
        lifetime = timedelta(hours=request.app.state.settings.session_hours)
        session = session_of(conn, cookie, lifetime)
        if session is not None:
            visitor = Visitor(session.user, session.csrf_token, "session")
    conn.commit()  # a session's new expiry, a token's last use: before the request's own work
    request.state.visitor = visitor
    return visitor


def current_visitor(request: Request) -> Visitor:
    """Dependency: the request's visitor. Requests with a connection have it resolved on that
    connection (``web.deps.get_connection``); the others (writes, which open their own
    transaction afterwards) borrow one for the lookup and give it back first."""
    if hasattr(request.state, "visitor"):
        return request.state.visitor
    if not has_credentials(request):  # anonymous: no database round trip
        request.state.visitor = Visitor()
        return request.state.visitor
    with request.app.state.engine.connect() as conn:
        return resolve_visitor(request, conn)


async def signed_in_writer(request: Request) -> User:
    """Dependency of every write: a signed-in user, and for sessions a matching CSRF token.
    The role and district checks follow in the records layer, on the record itself."""
    visitor = current_visitor(request)
    if visitor.user is None:
        raise NotSignedIn("sign in first: send 'Authorization: Bearer <token>' or log in")
    if visitor.via == "session":
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = (await request.form()).get("csrf_token")
        if not sent or not hmac.compare_digest(str(sent), visitor.csrf_token or ""):
            raise CsrfRejected("the CSRF token is missing or wrong; reload the page")
    return visitor.user


@dataclass(frozen=True)
class Writer:
    """What a record write needs: the checked user, the engine for its transaction, the store's
    CRS and the input limits."""

    user: User
    engine: Engine
    srid: int
    limits: RecordSettings
    refresher: object | None = None  # web.refresher.StoreRefresher

    def indicators_changed(self) -> None:
        """After a committed write that feeds indicators (events): refresh the store."""
        if self.refresher is not None:
            self.refresher.request()


async def record_writer(request: Request) -> Writer:
    """Dependency of the record writes (projects, contacts, events)."""
    user = await signed_in_writer(request)
    state = request.app.state
    refresher = getattr(state, "refresher", None)
    return Writer(user, state.engine, state.store_settings.srid, state.record_settings, refresher)


def admin_writer(user: User) -> User:
    if not user.is_admin:
        raise Forbidden("only admins manage users")
    return user


def signed_in_reader(request: Request) -> User:
    """Dependency of reads that are not public (history, events, contacts)."""
    visitor = current_visitor(request)
    if visitor.user is None:
        raise NotSignedIn("sign in to see this")
    return visitor.user
