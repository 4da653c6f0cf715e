"""What a region profile shows (prefix ``SOZIALRAUM_PROFILE_``): its key indicators, the age
bands of the population structure, the MSS indicators, how many years of participation, and
the caps on listed items."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProfileSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_PROFILE_", extra="ignore")

    key_indicators: list[str] = Field(
        default=[
            "inhabitants",
            "inhabitants_rel_change_2y",
            "share_age_below_6",
            "share_age_above_65",
            "share_foreigners",
            "share_migration_background",
            "kita_places_per_100_u6",
            "nursing_places_per_1000_65plus",
            "youth_places_per_1000_6_18",
        ],
        min_length=1,
        max_length=40,
        description="Indicators of the key-figure table, in this order.",
    )
    age_bands: list[str] = Field(
        default=[
            "inhabitants_age_below_6",
            "inhabitants_age_6_15",
            "inhabitants_age_15_18",
            "inhabitants_age_18_27",
            "inhabitants_age_27_45",
            "inhabitants_age_45_55",
            "inhabitants_age_55_65",
            "inhabitants_age_above_65",
        ],
        min_length=2,
        max_length=20,
        description="Count indicators of the age bands, youngest first.",
    )
    population: str = Field(default="inhabitants", description="The population count.")
    mss_status: str = "mss_status_index_class"
    mss_dynamics: str = "mss_dynamics_index_class"
    mss_overall: str = "mss_class"
    event_years: int = Field(
        default=3, ge=1, le=20, description="Participation events of this many calendar years."
    )
    max_items: int = Field(
        default=300, ge=10, le=5000, description="Most facilities, projects or events listed."
    )
