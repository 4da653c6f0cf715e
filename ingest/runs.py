"""Ingest runs: one row per successful run with its source, checksum, counts and report."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class RunRef:
    id: int
    checksum: str
    status: str


def last_run(conn: Connection, kind: str, source: str) -> RunRef | None:
    row = conn.execute(
        text(
            "SELECT id, checksum, status FROM ingest_runs WHERE kind = :kind AND source = :source "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"kind": kind, "source": source},
    ).first()
    return RunRef(row.id, row.checksum, row.status) if row else None


def start_run(conn: Connection, kind: str, source: str, checksum: str, options: dict) -> int:
    return conn.execute(
        text(
            "INSERT INTO ingest_runs (kind, source, checksum, options, started_at, status) "
            "VALUES (:kind, :source, :checksum, CAST(:options AS jsonb), clock_timestamp(), 'ok') "
            "RETURNING id"
        ),
        {
            "kind": kind,
            "source": source,
            "checksum": checksum,
            "options": json.dumps(options, default=str),
        },
    ).scalar_one()


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    counts: dict,
    report: dict,
    message: str | None = None,
) -> None:
    conn.execute(
        text(
            "UPDATE ingest_runs SET finished_at = clock_timestamp(), status = :status, "
            "counts = CAST(:counts AS jsonb), report = CAST(:report AS jsonb), message = :message "
            "WHERE id = :id"
        ),
        {
            "id": run_id,
            "status": status,
            "counts": json.dumps(counts),
            "report": json.dumps(report, default=str),
            "message": message,
        },
    )
