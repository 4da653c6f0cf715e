"""Settings of the web app (prefix ``SOZIALRAUM_WEB_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOZIALRAUM_WEB_", extra="ignore")

    title: str = "sozialraum"
    pool_size: int = Field(default=5, ge=1, le=100)
    max_features: int = Field(
        default=10_000, ge=1, le=1_000_000, description="Upper bound for features in one response."
    )
