"""What a region profile shows (prefix ``SOZIALRAUM_PROFILE_``): how many years of
participation and the caps on listed items; the key indicators, age bands, population and
class indicators come from the city's pack (``[profile]`` in ``city.toml``) unless a setting
overrides them for every city."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.errors import NotComputable
from spatial.cities import CityPack, ClassMap, ProfileTemplate


class ProfileSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_PROFILE_", extra="ignore")

    key_indicators: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Indicators of the key-figure table, in this order (default: the pack's).",
    )
    age_bands: list[str] | None = Field(
        default=None,
        min_length=2,
        max_length=20,
        description="Count indicators of the age bands, youngest first (default: the pack's).",
    )
    population: str | None = Field(default=None, description="The population count.")
    event_years: int = Field(
        default=3, ge=1, le=20, description="Participation events of this many calendar years."
    )
    max_items: int = Field(
        default=300, ge=10, le=5000, description="Most facilities, projects or events listed."
    )

    def template(self, pack: CityPack | None) -> ProfileTemplate:
        """The city's profile template with this deployment's overrides."""
        base = pack.profile if pack else None
        population = self.population or (base.population if base else None)
        keys = self.key_indicators or (base.key_indicators if base else None)
        if not population or not keys:
            raise NotComputable(
                "no profile template: the region system belongs to no city pack; set "
                "SOZIALRAUM_PROFILE_POPULATION and SOZIALRAUM_PROFILE_KEY_INDICATORS"
            )
        classes: ClassMap | None = base.classes if base else None
        return ProfileTemplate(
            population=population,
            key_indicators=keys,
            age_bands=self.age_bands or (base.age_bands if base else []),
            classes=classes,
            **({"sections": base.sections} if base else {}),
        )
