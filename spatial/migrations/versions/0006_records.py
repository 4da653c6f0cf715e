"""Accounts, projects, participation events, contacts with consent, and the history of every
change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _srid() -> int:
    stored = op.get_bind().execute(sa.text("SELECT value FROM store_meta WHERE key = 'srid'"))
    return int(stored.scalar_one())


def _user(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey("users.id"), nullable=nullable)


def _stamps() -> list[sa.Column]:
    """Who created, last changed and (soft) deleted a record, and when."""
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        _user("created_by"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        _user("updated_by"),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        _user("deleted_by"),
    ]


def _region_link(name: str, owner: str, owner_table: str, *extra: sa.Column) -> None:
    """A record's regions at every level (projects and events alike)."""
    op.create_table(
        name,
        sa.Column(
            owner,
            sa.BigInteger,
            sa.ForeignKey(f"{owner_table}.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "region_id",
            sa.BigInteger,
            sa.ForeignKey("regions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "level_id",
            sa.Integer,
            sa.ForeignKey("region_levels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *extra,
    )
    op.create_index(f"{name}_region", name, ["region_id"])


def upgrade() -> None:
    srid = _srid()
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("districts", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("role IN ('viewer', 'coordinator', 'admin')", name="user_role"),
        sa.CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'", name="user_name"),
    )
    op.create_index("users_username", "users", ["username"], unique=True)
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("funding_programme", sa.Text),
        sa.Column("organisation", sa.Text),
        sa.Column("start_date", sa.Date),
        sa.Column("end_date", sa.Date),
        sa.Column("participation_text", sa.Text),
        sa.Column("participation_url", sa.Text),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("geom", Geometry("GEOMETRY", srid=srid, spatial_index=False), nullable=False),
        sa.Column("districts", ARRAY(sa.Text), nullable=False, server_default="{}"),
        *_stamps(),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="project_dates"
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom) AND ST_IsValid(geom)", name="project_geom"),
    )
    op.create_index("projects_geom", "projects", ["geom"], postgresql_using="gist")
    _region_link(
        "project_regions",
        "project_id",
        "projects",
        sa.Column(
            "share",
            sa.Float,
            nullable=False,
            comment="share of the project's area (or length, or points) in the region",
        ),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("organisation", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("consent_date", sa.Date, nullable=False),
        sa.Column("consent_purpose", sa.Text, nullable=False),
        _user("consent_recorded_by", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        _user("withdrawn_by"),
        # personal data exists only while consent stands
        sa.CheckConstraint(
            "withdrawn_at IS NULL OR (name IS NULL AND organisation IS NULL AND email IS NULL "
            "AND phone IS NULL)",
            name="contact_erased_on_withdrawal",
        ),
    )
    op.create_index("contacts_project", "contacts", ["project_id"])
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("participants", sa.Integer),
        sa.Column("groups", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("topics", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("outcome", sa.Text, nullable=False, server_default=""),
        sa.Column("geom", Geometry("POINT", srid=srid, spatial_index=False)),
        sa.Column("system_id", sa.Integer, sa.ForeignKey("region_systems.id")),
        sa.Column("region_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("districts", ARRAY(sa.Text), nullable=False, server_default="{}"),
        *_stamps(),
        sa.CheckConstraint("participants IS NULL OR participants >= 0", name="event_participants"),
    )
    op.create_index("events_held_on", "events", ["held_on"])
    _region_link("event_regions", "event_id", "events")
    op.create_table(
        "event_projects",
        sa.Column(
            "event_id",
            sa.BigInteger,
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("project_id", sa.BigInteger, sa.ForeignKey("projects.id"), primary_key=True),
    )
    op.create_table(
        "history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("entity_id", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        _user("user_id"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("before", JSONB),
        sa.Column("after", JSONB),
        sa.CheckConstraint("entity IN ('project', 'event')", name="history_entity"),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'restore', 'contact_added', "
            "'consent_withdrawn')",
            name="history_action",
        ),
    )
    op.create_index("history_entity", "history", ["entity", "entity_id", "id"])


def downgrade() -> None:
    for table in (
        "history",
        "event_projects",
        "event_regions",
        "events",
        "contacts",
        "project_regions",
        "projects",
        "api_tokens",
        "user_sessions",
        "users",
    ):
        op.drop_table(table)
