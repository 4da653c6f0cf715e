"""Ingest runs: one row per successful run with its source, checksum, counts and report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.errors import IngestError


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


@dataclass
class JobResult:
    """What a statistics or facilities ingest reports: the run, counts, notes and details."""

    run_id: int | None
    skipped: bool
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    message: str = ""


def unchanged_run(
    conn: Connection, kind: str, source: str, checksum: str, force: bool
) -> RunRef | None:
    """The earlier run that loaded exactly this input (so there is nothing to do), or None.

    Different input for a source that is already loaded needs ``force``; without it that is an
    error, so a changed file never silently replaces what planners work with.
    """
    previous = last_run(conn, kind, source)
    if previous is None or force:
        return None
    if previous.checksum == checksum:
        return previous
    raise IngestError(
        f"{source} is already loaded from different data (run {previous.id}); "
        "use --force to replace it"
    )
