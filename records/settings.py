"""Limits of record input (prefix ``SOZIALRAUM_RECORDS_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from spatial.features import Attribution


class RecordSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_RECORDS_", extra="ignore")

    max_vertices: int = Field(
        default=20_000, ge=10, le=1_000_000, description="Vertices of one record's geometry."
    )
    max_payload_kb: int = Field(
        default=2048, ge=16, le=102_400, description="Largest request body of a record write."
    )
    extent_tolerance_m: float = Field(
        default=1000.0,
        ge=0,
        le=50_000,
        description="How far outside the loaded regions a geometry may reach.",
    )
    max_text_chars: int = Field(default=20_000, ge=100, le=1_000_000)
    attribution: str = Field(
        default="Sozialraumkoordination der Bezirke",
        description="Who to credit for projects and events in exports and services.",
    )
    licence: str = Field(
        default="dl-de/by-2.0", description="Licence of exported projects and events."
    )

    def credit(self) -> Attribution:
        """How exports and services credit projects and events."""
        return Attribution("Projekte und Beteiligung", self.licence, self.attribution)
