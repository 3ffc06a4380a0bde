"""Configuration handed from the server to the page scripts (as JSON, never as inline script)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civicgrid.cases.models import OPEN_STATES, CaseState
from civicgrid.cases.points import POINT_CAP
from civicgrid.grid.codes import GridLevel
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings

LEVEL_STYLES: dict[GridLevel, dict[str, Any]] = {
    GridLevel.PROVINCE: {"color": "#444", "weight": 3, "fillOpacity": 0.0},
    GridLevel.CITY: {"color": "#444", "weight": 3, "fillOpacity": 0.0},
    GridLevel.DISTRICT: {"color": "#b71c1c", "weight": 3, "fillOpacity": 0.02},
    GridLevel.STREET: {"color": "#0d47a1", "weight": 2, "fillOpacity": 0.05},
    GridLevel.COMMUNITY: {"color": "#2e7d32", "weight": 1.5, "fillOpacity": 0.05},
    GridLevel.UNIT: {"color": "#f57c00", "weight": 0.8, "fillOpacity": 0.08},
}

# The case map's state filter: "" is the default (every open case), "all" adds the finished ones.
STATE_CHOICES: list[tuple[str, str]] = [
    ("", "全部未办结"),
    *((state.value, state.label) for state in CaseState if state.value in OPEN_STATES),
    ("closed", CaseState.CLOSED.label),
    ("all", "全部（含已办结）"),
]
DEADLINE_CHOICES: list[tuple[str, str]] = [
    ("", "不限"),
    ("overdue", "超期"),
    ("due_soon", "临期"),
    ("normal", "未超期"),
]


@dataclass(frozen=True)
class CaseMapFilters:
    """What the case map shows first: from the page's query string, unknown values falling back to the default."""

    state: str = ""
    deadline: str = ""

    @classmethod
    def parse(cls, state: str | None, deadline: str | None) -> CaseMapFilters:
        states = {value for value, _ in STATE_CHOICES}
        deadlines = {value for value, _ in DEADLINE_CHOICES}
        return cls(state if state in states else "", deadline if deadline in deadlines else "")


def shows_cases(actor: Actor) -> bool:
    """Case markers on the map: only for a signed-in actor who may read cases (each sees only their own scope)."""
    return actor.is_authenticated and actor.has(Permission.CASE_READ)


def map_config(
    settings: Settings, levels: list[tuple[GridLevel, tuple[int, int]]], *, cases: bool = False
) -> dict[str, Any]:
    tiles = None
    if settings.map_tile_url:
        tiles = {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution}
    return {
        # Polygons and case points are requested in the tiles' system so they line up; without tiles WGS-84.
        "crs": settings.map_tile_crs if tiles else "wgs84",
        "tiles": tiles,
        "levels": [
            {"level": level.value, "label": level.label, "drawn": drawn, "style": LEVEL_STYLES[level]}
            for level, (_, drawn) in levels
            if drawn
        ],
        "cases": {"url": "/api/v1/cases/points", "cap": POINT_CAP} if cases else None,
    }
