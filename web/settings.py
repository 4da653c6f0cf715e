"""Settings of the web app (prefix ``SOZIALRAUM_WEB_``): sizes of responses and caches, and
overrides of what the city packs say the map and the services show."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from accounts.throttle import SignInLimits
from profiles.settings import ProfileSettings
from records.settings import RecordSettings
from spatial.settings import DataSettings, StoreSettings


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_WEB_", extra="ignore")

    title: str = "sozialraum"
    pool_size: int = Field(
        default=10, ge=1, le=100, description="Connections kept open (as many again on demand)."
    )
    pool_timeout: float = Field(
        default=30, ge=0.5, le=300, description="Seconds a request waits for a free connection."
    )
    max_features: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Upper bound for features in one response."
    )
    coordinate_decimals: int = Field(
        default=5, ge=3, le=8, description="Decimals of GeoJSON coordinates (5 ≈ 1 m)."
    )
    cache_entries: int = Field(
        default=1024, ge=0, le=100_000, description="Computed tables and layers kept in memory."
    )
    cache_mb: int = Field(
        default=256, ge=0, le=64_000, description="Megabytes the layer cache may hold."
    )
    refresh_store: bool = Field(
        default=True,
        description="Compute missing indicator tables in the background (at start and after "
        "record changes).",
    )
    default_system: str | None = Field(
        default=None, description="Region system of the map; default: the newest one."
    )
    default_indicator: str | None = Field(
        default=None, description="Indicator the map shows first; default: the city pack's."
    )
    key_indicators: list[str] | None = Field(
        default=None,
        max_length=40,
        description="Indicators of the region panel on the map, besides the mapped one; "
        "default: the city pack's.",
    )
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Base map tiles; empty for none.",
    )
    tile_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-Mitwirkende'
    )
    session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="How long a login lasts without activity."
    )
    login_attempts: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins per account within the window."
    )
    login_address_attempts: int = Field(
        default=30, ge=1, le=10_000, description="Failed sign-ins per client address."
    )
    login_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Window of the sign-in limits."
    )
    secure_cookies: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set behind TLS)."
    )
    service_indicators: list[str] | None = Field(
        default=None,
        max_length=60,
        description="Indicator values region collections and tiles carry by default; "
        "default: the city pack's.",
    )
    ogc_page_size: int = Field(default=100, ge=1, le=10_000, description="Default OGC limit.")
    ogc_max_page: int = Field(
        default=10_000, ge=1, le=100_000, description="Largest OGC API Features page."
    )
    gzip_level: int = Field(
        default=4, ge=1, le=9, description="Compression of large responses (9: smallest, slow)."
    )
    tile_cache_entries: int = Field(
        default=2048, ge=0, le=1_000_000, description="Vector tiles kept in memory."
    )
    tile_cache_mb: int = Field(
        default=128, ge=0, le=64_000, description="Megabytes the tile cache may hold."
    )
    pdf_cache_mb: int = Field(
        default=64, ge=0, le=64_000, description="Megabytes of rendered profile PDFs kept."
    )
    pdf_concurrency: int = Field(
        default=2, ge=1, le=64, description="Profile PDFs rendered at the same time."
    )
    pdf_wait_seconds: float = Field(
        default=60, ge=0, le=300, description="How long a PDF request waits for a free renderer."
    )
    tile_max_age: int = Field(
        default=300, ge=0, le=86_400, description="Seconds clients may reuse a vector tile."
    )
    tile_max_points: int = Field(
        default=1_000,
        ge=1,
        le=100_000,
        description="Points a tile carries before dense point layers are thinned to a grid.",
    )
    choropleth_tiles_above: int = Field(
        default=5_000,
        ge=0,
        le=10_000_000,
        description="Levels of more regions are drawn on the map from vector tiles carrying "
        "the values (coloured in the browser) instead of one GeoJSON of every region.",
    )
    tile_max_regions: int = Field(
        default=4_000,
        ge=10,
        le=1_000_000,
        description="Regions a map tile of a large level may carry; where more would be in "
        "a tile, the finest coarser level that fits is drawn at that zoom.",
    )
    tile_max_bytes: int = Field(
        default=200_000,
        ge=1_000,
        le=10_000_000,
        description="Bytes a thinned point tile may take before its grid is made coarser.",
    )

    def sign_in_limits(self) -> SignInLimits:
        return SignInLimits(
            self.login_attempts,
            self.login_address_attempts,
            timedelta(minutes=self.login_window_minutes),
        )


class Settings(BaseModel):
    """Every setting of a deployment, by section (each reads its own ``SOZIALRAUM_…``
    variables): built once and handed to ``create_app`` and the command line."""

    model_config = ConfigDict(frozen=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    records: RecordSettings = Field(default_factory=RecordSettings)
    profiles: ProfileSettings = Field(default_factory=ProfileSettings)
