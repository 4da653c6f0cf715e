"""Configuration of the store and of the data sources (prefix ``SOZIALRAUM_``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pyproj import CRS

from spatial.cities import CityPack, all_cities, load_city, load_deployment

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages
# installed from the wheel, the shipped data lies under the environment's share/
INSTALLED_DATA = Path(sys.prefix) / "share" / "sozialraum" / "data"


def _data_root() -> Path:
    """The shipped data (deployment, city packs, region systems, catalogs): the checkout's
    ``data/``, else the installed copy."""
    for candidate in (PROJECT_ROOT / "data", INSTALLED_DATA):
        if (candidate / "deployment.toml").is_file():
            return candidate
    raise RuntimeError(
        f"the shipped data is missing: neither {PROJECT_ROOT / 'data'} nor "
        f"{INSTALLED_DATA} holds deployment.toml; reinstall sozialraum"
    )


def _state_root() -> Path:
    """Where local state (the embedded cluster, downloads) goes by default: ``var/`` of a
    checkout, else the user's data directory."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "var"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sozialraum"


DATA_ROOT = _data_root()
STATE_ROOT = _state_root()
DEPLOYMENT = load_deployment(DATA_ROOT / "deployment.toml")


class StoreSettings(BaseSettings):
    """Where the PostGIS store lives and in which CRS it keeps geometry."""

    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SOZIALRAUM_DATABASE_URL", "DATABASE_URL"),
        description="Any PostGIS database; without it an embedded cluster in data_dir is used.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="A streaming replica of the store for read-only requests (writes and the "
        "indicator store's refresh go to the primary).",
    )
    srid: int = Field(
        default=DEPLOYMENT.srid, description="Projected, metric CRS all geometry is stored in."
    )
    data_dir: Path = Field(
        default=STATE_ROOT,
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
    """Where source manifests and city packs are, where downloads are cached, and the optional
    local mirror. The statistics, facility, composite and catalog folders default to those of
    the city packs (``data/cities/<city>/…``) beside the shared catalog; setting one of them
    replaces the packs' folders of that kind (for a single ad-hoc folder)."""

    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_", extra="ignore")

    data_mirror: Path | None = Field(
        default=None,
        description="A directory holding the source files; when set nothing is downloaded.",
    )
    manifest_dir: Path = Field(default=DATA_ROOT / "lor_boundaries")
    cities_dir: Path = Field(default=DATA_ROOT / "cities")
    cities: list[str] | None = Field(
        default=None, description="City packs in use (JSON list); default every pack."
    )
    default_city: str = Field(
        default=DEPLOYMENT.default_city, description="The city loaded when none is named."
    )
    statistics_dir: Path | None = None
    catalog_dir: Path = Field(default=DATA_ROOT / "indicators")
    facilities_dir: Path | None = None
    composites_dir: Path | None = None
    facility_categories_file: Path = Field(default=DATA_ROOT / "facility_categories.toml")
    licences_file: Path = Field(
        default=DATA_ROOT / "licences.toml",
        description="Licence names with the address of their text (rel=license links).",
    )
    cache_dir: Path = Field(
        default=(
            DATA_ROOT / "lor_boundaries" / "cache"
            if DATA_ROOT == PROJECT_ROOT / "data"
            else STATE_ROOT / "downloads"
        ),
        description="Downloaded source files (kept to load again without downloading).",
    )
    download_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_download_mb: int = Field(default=2048, gt=0, le=65536)

    @field_validator(
        "data_mirror",
        "manifest_dir",
        "cities_dir",
        "statistics_dir",
        "catalog_dir",
        "facilities_dir",
        "composites_dir",
        "facility_categories_file",
        "licences_file",
        "cache_dir",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    def packs(self, only: list[str] | None = None) -> list[CityPack]:
        """The city packs in use (those named in ``only``, in that order)."""
        wanted = only if only is not None else self.cities
        if wanted is None:
            return all_cities(self.cities_dir)
        return [load_city(self.cities_dir, key) for key in wanted]

    def pack_dirs(self, part: str, only: list[str] | None = None) -> list[Path]:
        """Folders of one kind (statistics, facilities, composites): the override, else the
        packs' own."""
        override = {
            "statistics": self.statistics_dir,
            "facilities": self.facilities_dir,
            "composites": self.composites_dir,
        }[part]
        if override is not None:
            return [override]
        return [pack.part(part) for pack in self.packs(only)]

    def catalog_dirs(self, only: list[str] | None = None) -> list[Path]:
        """The shared catalog and the indicators the packs add to it."""
        return [self.catalog_dir, *(pack.part("indicators") for pack in self.packs(only))]
