"""Each level's number of regions kept in ``region_levels`` beside its bounds: the count an
unfiltered page of a collection reports as ``numberMatched`` was counted over ``regions`` on
every cold read, a cost that grew with the store (four counts over 75,600 regions cost more
than the page itself). Statement-level triggers add the rows a statement inserts and take
away those it deletes, in the transaction that changes them, so the figure costs what the
change costs.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_COUNTS = """
CREATE FUNCTION sz_level_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a delta, not a recount: concurrent statements on one level each add their own rows
    IF TG_OP = 'INSERT' THEN
        UPDATE region_levels l SET region_count = l.region_count + d.n
        FROM (SELECT level_id, count(*) AS n FROM new_rows GROUP BY level_id) d
        WHERE l.id = d.level_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE region_levels l SET region_count = l.region_count - d.n
        FROM (SELECT level_id, count(*) AS n FROM old_rows GROUP BY level_id) d
        WHERE l.id = d.level_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_counted_inserted AFTER INSERT ON regions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_level_counts();
CREATE TRIGGER regions_counted_deleted AFTER DELETE ON regions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_level_counts();

-- a region moved to another level (no ingest does this): per row, as transition tables
-- cannot go with a column list and would hold every row of an update of parent codes
CREATE FUNCTION sz_level_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE region_levels SET region_count = region_count - 1 WHERE id = OLD.level_id;
    UPDATE region_levels SET region_count = region_count + 1 WHERE id = NEW.level_id;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_counted_moved AFTER UPDATE OF level_id ON regions FOR EACH ROW
    WHEN (OLD.level_id IS DISTINCT FROM NEW.level_id) EXECUTE FUNCTION sz_level_count_moved();
"""


def upgrade() -> None:
    op.execute("ALTER TABLE region_levels ADD COLUMN region_count integer NOT NULL DEFAULT 0")
    op.execute(
        "UPDATE region_levels l SET region_count = "
        "(SELECT count(*) FROM regions r WHERE r.level_id = l.id)"
    )
    op.execute(_COUNTS)


def downgrade() -> None:
    for suffix in ("inserted", "deleted", "moved"):
        op.execute(f"DROP TRIGGER regions_counted_{suffix} ON regions")
    op.execute("DROP FUNCTION sz_level_count_moved()")
    op.execute("DROP FUNCTION sz_level_counts()")
    op.execute("ALTER TABLE region_levels DROP COLUMN region_count")
