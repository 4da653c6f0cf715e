"""Contacts of a project: stored only with recorded consent (date, purpose, who recorded it);
withdrawing consent erases the personal fields from the table and from every stored state in
the history. Only the project's coordinators and admins ever see them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import User
from records.errors import RecordNotFound
from records.history import erase_contact_from_history, record_change
from records.projects import lock_project, project_state
from records.versioning import check_scope

Short = Annotated[str, Field(max_length=300)]


class ContactInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=300)]
    organisation: Short | None = None
    email: Short | None = None
    phone: Short | None = None
    consent_date: date
    consent_purpose: Annotated[str, Field(min_length=3, max_length=1000)]

    @model_validator(mode="after")
    def _consent_given(self) -> ContactInput:
        if self.consent_date > date.today():
            raise ValueError("the consent date lies in the future")
        if self.email and "@" not in self.email:
            raise ValueError(f"{self.email!r} is not an e-mail address")
        return self


def add_contact(conn: Connection, project_id: int, data: ContactInput, user: User) -> dict:
    before = lock_project(conn, project_id)
    if before["deleted"]:
        raise RecordNotFound(f"project {project_id} does not exist")
    check_scope(user, before["districts"], "add contacts to this project")
    contact_id = conn.execute(
        text(
            "INSERT INTO contacts (project_id, name, organisation, email, phone, consent_date, "
            "consent_purpose, consent_recorded_by) VALUES (:p, :name, :organisation, :email, "
            ":phone, :consent_date, :consent_purpose, :u) RETURNING id"
        ),
        {**data.model_dump(), "p": project_id, "u": user.id},
    ).scalar_one()
    after = project_state(conn, project_id)
    record_change(
        conn, "project", project_id, after["version"], "contact_added", user.id, before, after
    )
    return next(c for c in after["contacts"] if c["id"] == contact_id)


def withdraw_consent(conn: Connection, contact_id: int, user: User) -> int:
    """Erase the contact's personal fields everywhere; returns the history entries rewritten."""
    row = conn.execute(
        text("SELECT project_id, withdrawn_at FROM contacts WHERE id = :id"), {"id": contact_id}
    ).first()
    if row is None or row.withdrawn_at is not None:
        raise RecordNotFound(f"contact {contact_id} does not exist or was withdrawn already")
    current = lock_project(conn, row.project_id)
    check_scope(user, current["districts"], "withdraw consent for this project's contacts")
    conn.execute(
        text(
            "UPDATE contacts SET name = NULL, organisation = NULL, email = NULL, phone = NULL, "
            "withdrawn_at = now(), withdrawn_by = :u WHERE id = :id"
        ),
        {"u": user.id, "id": contact_id},
    )
    rewritten = erase_contact_from_history(conn, row.project_id, contact_id)
    record_change(
        conn,
        "project",
        row.project_id,
        current["version"],
        "consent_withdrawn",
        user.id,
        None,
        {"contact": contact_id},
    )
    return rewritten
