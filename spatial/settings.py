"""Configuration of the store and of the data sources (prefix ``SOZIALRAUM_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyproj import CRS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StoreSettings(BaseSettings):
    """Where the PostGIS store lives and in which CRS it keeps geometry."""

    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SOZIALRAUM_DATABASE_URL", "DATABASE_URL"),
        description="Any PostGIS database; without it an embedded cluster in data_dir is used.",
    )
    srid: int = Field(default=25833, description="Projected, metric CRS all geometry is stored in.")
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Project-local state: the embedded PostgreSQL cluster and its logs.",
    )
    pg_bindir: Path | None = Field(
        default=None, description="Directory with initdb/pg_ctl; found automatically when unset."
    )

    @field_validator("srid")
    @classmethod
    def _metric_projected(cls, value: int) -> int:
        crs = CRS.from_epsg(value)
        if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
            raise ValueError(f"EPSG:{value} is not a projected CRS in metres; areas would be wrong")
        return value

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


class DataSettings(BaseSettings):
    """Where source manifests are, where downloads are cached, and the optional local mirror."""

    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_", extra="ignore")

    data_mirror: Path | None = Field(
        default=None,
        description="A directory holding the source files; when set nothing is downloaded.",
    )
    manifest_dir: Path = Field(default=PROJECT_ROOT / "data" / "lor_boundaries")
    statistics_dir: Path = Field(default=PROJECT_ROOT / "data" / "statistics")
    catalog_dir: Path = Field(default=PROJECT_ROOT / "data" / "indicators")
    facilities_dir: Path = Field(default=PROJECT_ROOT / "data" / "facilities")
    composites_dir: Path = Field(default=PROJECT_ROOT / "data" / "composites")
    facility_categories_file: Path = Field(
        default=PROJECT_ROOT / "data" / "facility_categories.toml"
    )
    cache_dir: Path = Field(default=PROJECT_ROOT / "data" / "lor_boundaries" / "cache")
    download_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_download_mb: int = Field(default=2048, gt=0, le=65536)

    @field_validator(
        "data_mirror",
        "manifest_dir",
        "statistics_dir",
        "catalog_dir",
        "facilities_dir",
        "composites_dir",
        "facility_categories_file",
        "cache_dir",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None
