"""One settings object, read from the environment (prefix ``CIVICGRID_``) and an optional ``.env`` file."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", env_file=".env", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where the embedded database, uploads and keys live.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty means the embedded SQLite database var_dir/civicgrid.db.",
    )
    unit_code_digits: int = Field(
        default=3,
        ge=1,
        le=6,
        description="Digits a unit grid (网格单元) adds to its parent's code: 3 gives the 15-digit 6+3+3+3 style.",
    )
    timezone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: SecretStr | None = Field(
        default=None, description="Signs session cookies. If unset, one is generated once into var_dir."
    )
    public_grid_map: bool = Field(
        default=True,
        description="Show the grid boundaries (not cases, not people) to visitors who are not signed in.",
    )
    map_tile_url: str | None = Field(
        default=None,
        description="Optional XYZ tile URL template (an intranet 天地图/高德 mirror). Without it the grid is the map.",
    )
    map_tile_crs: Literal["wgs84", "gcj02"] = Field(
        default="gcj02",
        description="Coordinate system of the tiles: 高德/腾讯 tiles are gcj02, 天地图 and OSM wgs84.",
    )
    map_tile_attribution: str = ""

    @field_validator("var_dir")
    @classmethod
    def _absolute_var_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'civicgrid.db'}"

    def session_secret(self) -> str:
        """The configured secret, or one generated on first use and kept (mode 0600) under var_dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key_file = self.var_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text(encoding="utf-8").strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
