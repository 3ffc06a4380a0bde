"""Configuration handed from the server to the page scripts (as JSON, never as inline script)."""

from __future__ import annotations

from typing import Any

from civicgrid.grid.codes import GridLevel
from civicgrid.settings import Settings

LEVEL_STYLES: dict[GridLevel, dict[str, Any]] = {
    GridLevel.PROVINCE: {"color": "#444", "weight": 3, "fillOpacity": 0.0},
    GridLevel.CITY: {"color": "#444", "weight": 3, "fillOpacity": 0.0},
    GridLevel.DISTRICT: {"color": "#b71c1c", "weight": 3, "fillOpacity": 0.02},
    GridLevel.STREET: {"color": "#0d47a1", "weight": 2, "fillOpacity": 0.05},
    GridLevel.COMMUNITY: {"color": "#2e7d32", "weight": 1.5, "fillOpacity": 0.05},
    GridLevel.UNIT: {"color": "#f57c00", "weight": 0.8, "fillOpacity": 0.08},
}


def map_config(settings: Settings, levels: list[tuple[GridLevel, tuple[int, int]]]) -> dict[str, Any]:
    tiles = None
    if settings.map_tile_url:
        tiles = {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution}
    return {
        # Polygons are requested in the tiles' system so they line up; without tiles WGS-84 is used.
        "crs": settings.map_tile_crs if tiles else "wgs84",
        "tiles": tiles,
        "levels": [
            {"level": level.value, "label": level.label, "drawn": drawn, "style": LEVEL_STYLES[level]}
            for level, (_, drawn) in levels
            if drawn
        ],
    }
