"""User administration API (admins only): list, add, disable."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

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
