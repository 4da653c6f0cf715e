"""Errors of ingest jobs: one line that names the file, the feature, the field and the value."""

from __future__ import annotations

from pathlib import Path

from spatial.errors import SozialraumError


class IngestError(SozialraumError):
    """Bad input; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        feature: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.feature = feature
        self.field = field
        self.value = value
        where = []
        if self.file:
            where.append(self.file)
        if feature is not None:
            where.append(f"feature {feature}")
        if field is not None:
            where.append(f"field {field!r}")
        if value is not None:
            where.append(f"value {value!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DownloadError(SozialraumError):
    """A source could not be fetched from any of its URLs."""
