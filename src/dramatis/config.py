"""Settings from DRAMATIS_* environment variables and an optional TOML file; platformdirs paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_config_dir, user_data_dir
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

APP_NAME = "dramatis"


def default_data_dir() -> Path:
    """Where dramatis keeps its database and exports unless told otherwise."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    """The folder holding the optional config file and user themes (``themes/*.toml``)."""
    return default_config_file().parent


def default_config_file() -> Path:
    """The optional TOML settings file (``DRAMATIS_CONFIG`` overrides it)."""
    override = os.environ.get("DRAMATIS_CONFIG")
    if override:
        return Path(override)
    return Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


class Settings(BaseSettings):
    """Runtime configuration. Environment wins over the config file, which wins over defaults."""

    model_config = SettingsConfigDict(env_prefix="DRAMATIS_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    db: str | None = None  # SQLite path or postgresql:// DSN; default <data_dir>/dramatis.db
    tenant: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    tenant_table_prefix: str | None = None  # enterprise tenants: dedicated tables
    # PostgreSQL only: the schema holding the event tables (a table prefix adds "_<prefix>").
    postgres_schema: str = Field(default="dramatis", pattern=r"^[a-z][a-z0-9_]{0,23}$")
    # PostgreSQL only: the most connections each process's pool opens (an SSH session is a
    # process of its own, and also holds one LISTEN connection while following live updates).
    postgres_pool_max: int = Field(default=2, ge=1, le=100)
    snapshot_every: int = Field(default=10, ge=1)
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DRAMATIS_GEMINI_API_KEY", "GEMINI_API_KEY"),
    )
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_model: str = "gemini-2.5-flash"
    gemini_timeout_seconds: float = Field(default=20.0, gt=0)  # per HTTP request
    gemini_temperature: float = Field(default=0.9, ge=0.0, le=2.0)
    gemini_max_output_tokens: int = Field(default=1024, ge=16)
    gemini_thinking_budget: int | None = Field(default=0, ge=-1)  # blank: the model's default
    gemini_max_attempts: int = Field(default=4, ge=1)  # tries per decision, retries included
    gemini_backoff_base_seconds: float = Field(default=0.5, ge=0.0)
    gemini_backoff_max_seconds: float = Field(default=8.0, ge=0.0)
    gemini_retry_delay_cap_seconds: float = Field(default=30.0, ge=0.0)  # longest RetryInfo wait
    gemini_breaker_threshold: int = Field(default=5, ge=1)  # consecutive failures to open
    gemini_breaker_cooldown_seconds: float = Field(default=60.0, ge=0.0)
    openai_base_url: str | None = None  # an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1
    openai_api_key: SecretStr | None = None  # sent as a Bearer token when set
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=60.0, gt=0)  # per HTTP request
    openai_max_tokens: int = Field(default=512, ge=16)
    openai_max_attempts: int = Field(default=3, ge=1)  # tries per decision, retries included
    redis_url: str | None = None
    redis_timeout_seconds: float = Field(default=0.25, gt=0)  # connect/read timeout per request
    redis_cool_down_seconds: float = Field(default=30.0, ge=0)  # no Redis calls after a failure
    prompt_cache_ttl_seconds: int = Field(default=900, ge=1)
    max_concurrent_decisions: int = Field(default=8, ge=1)  # brain calls in flight at once
    campaign_call_budget: int | None = Field(default=None, ge=0)  # remote calls per campaign
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    media_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)  # largest attachable file
    human_timeout_seconds: float = Field(default=60.0, gt=0)  # a player's turn, then the fallback
    # Seconds between auto-played turns in the TUI; blank: 0 alone, 2 in shared play.
    autoplay_pace_seconds: float | None = Field(default=None, ge=0, le=60)
    keys: dict[str, str] = Field(default_factory=dict)  # TUI key remaps: binding id -> keys
    # Who is acting: operators toggle flags and register runbooks; players and viewers cannot.
    role: Literal["operator", "player", "viewer"] = "operator"
    # Shared play: a player name puts the TUI at the campaign's table with other sessions
    # (the SSH host sets it per key); the session id tells this process's seat from others'.
    player: str | None = Field(default=None, pattern=r"^[^\x00-\x1f\x7f]{1,64}$")
    session: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,80}$")

    @field_validator("db", "player", "session")
    @classmethod
    def _blank_is_default(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("gemini_thinking_budget", "autoplay_pace_seconds", mode="before")
    @classmethod
    def _blank_is_the_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = default_config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def database(self) -> str:
        """The SQLite path (or DSN) to open."""
        return self.db or str(self.data_dir / "dramatis.db")

    @property
    def gemini_configured(self) -> bool:
        return self.gemini_api_key is not None and bool(self.gemini_api_key.get_secret_value())

    @property
    def openai_configured(self) -> bool:
        return bool(self.openai_base_url and self.openai_base_url.strip())

    def redacted(self) -> dict[str, Any]:
        """Settings safe to print: secrets are masked."""
        data = self.model_dump(mode="json")
        for secret in ("gemini_api_key", "openai_api_key"):
            if data.get(secret):
                data[secret] = "***"
        return data
