"""Districts named with their region system (``<system>:<code>``): a coordinator's rights and
the districts of projects, events and profile sections. A bare code of a user becomes every
district of that code (no right is lost or gained by the upgrade; review users of several
cities); the districts of records are found again from their geometry or regions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TOP = """
    SELECT t.id, t.code, t.geom, t.system_id, s.key || ':' || t.code AS district FROM regions t
    JOIN region_levels tl ON tl.id = t.level_id JOIN region_systems s ON s.id = t.system_id
    WHERE tl.rank = (SELECT min(rank) FROM region_levels m WHERE m.system_id = t.system_id)
"""


def _of_region(region: str) -> str:
    """The district of region ``region`` (SQL expression of a regions row)."""
    return f"""(SELECT top.district FROM ({TOP}) top WHERE top.system_id = {region}.system_id
                AND ST_Covers(top.geom, ST_PointOnSurface({region}.geom))
                ORDER BY top.code LIMIT 1)"""


def upgrade() -> None:
    op.execute(
        f"""
        UPDATE users u SET districts = coalesce((
            SELECT array_agg(DISTINCT top.district ORDER BY top.district) FROM ({TOP}) top
            WHERE top.code = ANY(u.districts)), '{{}}')
        WHERE districts <> '{{}}'
        """
    )
    op.execute(
        f"""
        UPDATE projects p SET districts = coalesce((
            SELECT array_agg(DISTINCT top.district ORDER BY top.district) FROM ({TOP}) top
            WHERE ST_Intersects(top.geom, p.geom)), '{{}}')
        """
    )
    op.execute(
        f"""
        UPDATE events e SET districts = coalesce(CASE
            WHEN e.geom IS NOT NULL THEN (
                SELECT array_agg(DISTINCT top.district ORDER BY top.district) FROM ({TOP}) top
                WHERE ST_Intersects(top.geom, e.geom))
            ELSE (
                SELECT array_agg(DISTINCT {_of_region("r")} ORDER BY {_of_region("r")})
                FROM regions r WHERE r.system_id = e.system_id AND r.code = ANY(e.region_codes))
            END, '{{}}')
        """
    )
    op.execute(
        f"""
        UPDATE profile_sections s SET districts = coalesce(
            (SELECT ARRAY[{_of_region("r")}] FROM regions r WHERE r.id = s.region_id), '{{}}')
        """
    )


def downgrade() -> None:
    for table in ("users", "projects", "events", "profile_sections"):
        op.execute(
            f"UPDATE {table} SET districts = coalesce(ARRAY(SELECT DISTINCT split_part(d, ':', 2) "
            f"FROM unnest(districts) d ORDER BY 1), '{{}}')"
        )
