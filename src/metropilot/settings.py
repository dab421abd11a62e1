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
    environment: Literal["development", "demo", "production"] = "development"
    max_import_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
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
