"""Errors of record writes, split by what went wrong (the web maps them to 422, 403, 404, 409)."""

from __future__ import annotations

from spatial.errors import SozialraumError


class RecordError(SozialraumError):
    """A record write that cannot be done as asked; nothing was written."""


class InvalidRecord(RecordError):
    """Input that breaks a rule (geometry, controlled lists, dates, sizes)."""


class Forbidden(RecordError):
    """The user's role or districts do not allow the write."""


class RecordNotFound(RecordError):
    """No such project, event, contact or version (deleted records count as missing)."""


class VersionConflict(RecordError):
    """The record changed since the version the write was based on."""

    def __init__(self, message: str, current: dict, changes: dict[str, dict]) -> None:
        super().__init__(message)
        self.current = current
        self.changes = changes
