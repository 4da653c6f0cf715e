"""Bulk writes: rows streamed into a table with COPY on the transaction's own connection, then
analysed in the same transaction, so the checks and joins that follow are planned on the real
row counts (a staging table is never analysed by autovacuum)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql
from sqlalchemy.engine import Connection


def copy_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    binary_types: Sequence[str] | None = None,
) -> None:
    """COPY ``rows`` into ``table`` (identifiers quoted) inside ``conn``'s transaction; with
    ``binary_types`` (the PostgreSQL type of each column) in the binary format, which carries
    ``bytes`` such as WKB as they are instead of as hex text."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FORMAT BINARY)" if binary_types else ""),
    )
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        with cur.copy(statement) as copy:
            if binary_types:
                copy.set_types(list(binary_types))
            for row in rows:
                copy.write_row(row)
        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
