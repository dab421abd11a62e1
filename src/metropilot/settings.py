"""All configuration in one typed object, read from ``METROPILOT_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METROPILOT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("./metropilot-data"),
        description="Where the embedded database, photos and demo files live.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means the embedded SQLite file in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL", "EXTRA"] = Field(
        default="FULL",
        description="SQLite durability: FULL survives power loss, NORMAL only a process crash.",
    )
    metropolis_name: str = "Dijon Métropole"
    max_import_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest request body accepted."
    )
    session_lifetime_hours: float = Field(
        default=12, gt=0, description="A browser session ends after this, active or not."
    )
    session_idle_minutes: float = Field(
        default=120, gt=0, description="A browser session or token ends after this long unused."
    )
    token_lifetime_hours: float = Field(default=8, gt=0, description="Bearer tokens for scripts.")
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: float = Field(default=15, gt=0)
    login_attempts_per_minute: int = Field(
        default=10, ge=1, description="Per client address, on every sign-in endpoint."
    )
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto: Secure cookies when the request came over HTTPS."
    )
    telemetry_raw_retention_days: float = Field(default=30, gt=0)
    telemetry_rollup_retention_days: float = Field(default=730, gt=0)
    telemetry_raw_retention_by_metric: dict[str, float] = Field(
        default_factory=dict, description='Per-metric raw retention in days, e.g. {"pm10": 365}.'
    )
    telemetry_max_batch: int = Field(default=10_000, ge=1, description="Items per ingest batch.")
    mqtt_url: str = Field(default="", description="mqtt://host:1883 — empty: no broker.")
    stream_max_clients: int = Field(default=200, ge=1, description="Live streams per process.")
    map_tile_url: str = Field(
        default="",
        description="A raster tile server for the command centre's map, e.g. "
        "https://tiles.example.org/{z}/{x}/{y}.png — empty: the offline basemap drawn from the "
        "platform's own communes and streets.",
    )
    map_tile_attribution: str = Field(default="", max_length=300)
    stream_heartbeat_s: float = Field(default=15, gt=0, le=300)
    stream_retry_ms: int = Field(default=3000, ge=100, le=600_000)
    stream_poll_interval_ms: int = Field(default=10, ge=5, le=5000)
    stream_max_duration_s: float = Field(default=900, gt=0)
    stream_retention_hours: float = Field(default=24, gt=0)
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API; none by default.",
    )
    behind_tls_proxy: bool = Field(
        default=False,
        description="Trust X-Forwarded-Proto from the reverse proxy terminating TLS (for HSTS).",
    )
    open311_posts_per_minute: int = Field(
        default=30,
        ge=1,
        description="Citizen reports accepted per minute from one client address (Open311, web).",
    )
    open311_posts_per_minute_per_key: int = Field(
        default=300, ge=1, description="Citizen reports accepted per minute from one client app."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address citizens reach the platform at, for links in e-mails.",
    )
    smtp_host: str = Field(
        default="", description="Mail server for citizens' e-mails; empty: none."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = Field(default="Metropilot <no-reply@localhost>")
    privacy_retention_months: float = Field(
        default=12,
        ge=0,
        description="Citizens' names, e-mails, phones and device ids are erased this many "
        "months after their report closed (metropilot privacy purge); the public record stays.",
    )
    housekeeping_interval_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="How often the server writes the twin, judges silences and escalations, "
        "opens missed cases, announces SLA deadlines and sends citizens' e-mails.",
    )
    last_use_write_s: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="How often the server writes when sessions and API keys were last used "
        "(requests only note it in memory, never waiting for the database's writer).",
    )
    shutdown_grace_s: int = Field(
        default=5,
        ge=0,
        le=60,
        description="On SIGTERM, how long requests under way may take to finish before they "
        "are cancelled (the server then stops its background work and writes what it holds).",
    )
    max_near_radius_m: float = Field(default=10_000.0, gt=0)
    page_size_default: int = Field(default=100, ge=1)
    page_size_max: int = Field(default=5_000, ge=1)

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'metropilot.db').resolve()}"
        elif self.database_url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; the bare scheme would look for psycopg2.
            self.database_url = "postgresql+psycopg://" + self.database_url[len("postgresql://") :]
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
