"""One settings object, read from the environment (prefix ``CIVICGRID_``) and an optional ``.env`` file."""

from __future__ import annotations

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
    session_idle_minutes: int = Field(default=480, ge=5, description="A web session ends after this long unused.")
    session_max_hours: int = Field(default=12, ge=1, description="A web session ends this long after sign-in.")
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie only over HTTPS (turn on behind a TLS proxy)."
    )
    login_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins before a name is locked.")
    login_lock_minutes: int = Field(default=15, ge=1, description="How long a locked name waits.")
    public_reporting: bool = Field(
        default=True, description="Residents may report a problem on the public pages without an account."
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
    office_hours: str = Field(
        default="08:30-12:00,13:30-17:30",
        description="Working periods of a working day (Beijing time); working-time deadlines count only these.",
    )
    due_soon_share: float = Field(
        default=0.2, gt=0, lt=1, description="A stage is 'due soon' (临期) once this share of its time is left."
    )
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, description="Largest accepted attachment.")
    notify_webhook_url: str | None = Field(default=None, description="POST target for notifications (JSON).")
    notify_smtp_host: str | None = None
    notify_smtp_port: int = 25
    notify_smtp_sender: str = "civicgrid@localhost"
    notify_smtp_username: str | None = None
    notify_smtp_password: SecretStr | None = None
    notify_smtp_starttls: bool = False
    notify_max_attempts: int = Field(default=8, ge=1, description="Attempts before a message is marked dead.")
    notify_sms_backend: Literal["none", "log"] = Field(
        default="none",
        description="SMS gateway. 'log' only writes what would be sent; 'none' leaves SMS messages waiting, visibly.",
    )
    kpi_weight_response: float = Field(default=30, ge=0, description="综合得分: weight of 响应率 (percent).")
    kpi_weight_resolution: float = Field(default=35, ge=0, description="综合得分: weight of 解决率 (percent).")
    kpi_weight_satisfaction: float = Field(default=35, ge=0, description="综合得分: weight of 满意率 (percent).")
    registry_key: SecretStr | None = Field(
        default=None,
        description=(
            "Master key for residents' ID numbers and phones at rest: base64url of 32 random bytes. Empty means "
            "var_dir/registry.key, created on first use. Back it up apart from the database: without it they are lost."
        ),
    )
    db_pool_size: int = Field(
        default=10, ge=1, description="Connections each server process keeps open to PostgreSQL or SQLite."
    )
    db_max_overflow: int = Field(
        default=30,
        ge=0,
        description=(
            "Extra connections a process may open under load. pool size + overflow = 40 = the request thread pool, "
            "so a request never waits for a connection while another request holds none back."
        ),
    )
    db_pool_timeout_seconds: float = Field(
        default=10, gt=0, description="How long a request waits for a free connection before it is told 系统繁忙 (503)."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="SQLite: how long a writer waits for the write lock (writers queue; each holds it milliseconds).",
    )
    scheduler_interval_seconds: int = Field(
        default=60, ge=0, description="How often `serve` refreshes 临期/超期 and delivers notifications; 0 = never."
    )

    @field_validator("var_dir")
    @classmethod
    def _absolute_var_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'civicgrid.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
