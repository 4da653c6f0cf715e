"""Bulk writes: rows streamed into a table with COPY on the transaction's own connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from psycopg import sql
from sqlalchemy.engine import Connection


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]
) -> None:
    """COPY ``rows`` into ``table`` (identifiers quoted) inside ``conn``'s transaction."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
