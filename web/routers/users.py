"""User administration API (admins): list, add, disable; API tokens (one's own, or any user's
for admins): list, create, revoke one."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from accounts.tokens import MAX_TOKEN_DAYS, TOKEN_DAYS, create_token, list_tokens, revoke_token
from accounts.users import User, add_user, disable_user, list_users
from web.auth import admin_writer, signed_in_reader, signed_in_writer
from web.deps import get_engine
from web.routers.projects import WRITE_ERRORS

router = APIRouter(tags=["users"])


class NewUser(BaseModel):
    username: str
    password: str = Field(min_length=1, max_length=1000)
    role: str = "viewer"
    display_name: str | None = None
    districts: list[str] = []


def _public(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "districts": list(user.districts),
        "active": user.active,
    }


@router.get("/me", summary="The signed-in user")
def me(user: User = Depends(signed_in_reader)) -> dict:
    return _public(user)


@router.get("/users", summary="All users (admins)")
def users(user: User = Depends(signed_in_reader), engine: Engine = Depends(get_engine)) -> list:
    admin_writer(user)
    with engine.connect() as conn:
        return [_public(u) for u in list_users(conn)]


@router.post("/users", status_code=201, summary="Add a user (admins)", responses=WRITE_ERRORS)
def users_add(
    data: NewUser, user: User = Depends(signed_in_writer), engine: Engine = Depends(get_engine)
) -> dict:
    admin_writer(user)
    with engine.begin() as conn:
        created = add_user(
            conn,
            data.username,
            data.password,
            data.role,
            display_name=data.display_name,
            districts=data.districts,
        )
    return _public(created)


@router.post("/users/{username}/disable", summary="Disable a user (admins)", responses=WRITE_ERRORS)
def users_disable(
    username: str, user: User = Depends(signed_in_writer), engine: Engine = Depends(get_engine)
) -> dict:
    admin_writer(user)
    with engine.begin() as conn:
        return _public(disable_user(conn, username))


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: int = Field(default=TOKEN_DAYS, ge=1, le=MAX_TOKEN_DAYS)


def _token(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _owner(user: User, username: str | None) -> str:
    """Whose tokens: one's own, or (admins) anyone's."""
    if username is None or username == user.username:
        return user.username
    admin_writer(user)
    return username


@router.get("/me/tokens", summary="The signed-in user's API tokens (never their secrets)")
def my_tokens(user: User = Depends(signed_in_reader), engine: Engine = Depends(get_engine)):
    with engine.connect() as conn:
        return [_token(t) for t in list_tokens(conn, user.username)]


@router.post("/me/tokens", status_code=201, summary="A new API token (its secret shown once)")
def my_token_add(
    data: NewToken, user: User = Depends(signed_in_writer), engine: Engine = Depends(get_engine)
) -> dict:
    with engine.begin() as conn:
        secret = create_token(conn, user.username, data.name, data.days)
        newest = list_tokens(conn, user.username)[0]
    return {**_token(newest), "token": secret}


@router.get("/users/{username}/tokens", summary="A user's API tokens (admins, or oneself)")
def user_tokens(
    username: str, user: User = Depends(signed_in_reader), engine: Engine = Depends(get_engine)
) -> list:
    with engine.connect() as conn:
        return [_token(t) for t in list_tokens(conn, _owner(user, username))]


@router.delete(
    "/users/{username}/tokens/{token_id}",
    summary="Revoke one API token (admins, or oneself); the others stay valid",
    responses=WRITE_ERRORS,
)
def user_token_revoke(
    username: str,
    token_id: int,
    user: User = Depends(signed_in_writer),
    engine: Engine = Depends(get_engine),
) -> dict:
    with engine.begin() as conn:
        return _token(revoke_token(conn, _owner(user, username), token_id))
