"""Region geometries stored out of line without compression: pglz gains a few per cent of
space on coordinates and costs most of the time of writing a large level (and some of reading
it back for tiles and exports). Rows written before keep their compressed form until rewritten.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE regions ALTER COLUMN geom SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE regions ALTER COLUMN geom SET STORAGE MAIN")
