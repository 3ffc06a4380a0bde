"""Fixtures for grid tests: the real 即墨区 tree from NBS codes, and its OSM street boundaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from civicgrid.grid.import_boundaries import BoundaryOptions, import_boundaries
from civicgrid.grid.import_table import import_division_table
from civicgrid.importing import ImportReport, read_text_file
from civicgrid.org.actor import Actor

JIMO = "370215"


@pytest.fixture
def jimo_tree(session: Session, system: Actor, real_data: Path) -> ImportReport:
    text = read_text_file(real_data / "villages_4districts_2021.csv")
    report = import_division_table(session, system, text, source="villages", root_code=JIMO)
    assert report.applied
    return report


@pytest.fixture
def osm_streets(real_data: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((real_data / "370215_jimo_streets_osm.geojson").read_text("utf-8"))
    return document


@pytest.fixture
def jimo_with_boundaries(
    session: Session, system: Actor, jimo_tree: ImportReport, osm_streets: dict[str, Any]
) -> ImportReport:
    report = import_boundaries(
        session, system, osm_streets, source="osm", options=BoundaryOptions(crs="wgs84", within_code=JIMO)
    )
    assert report.applied, report.rejected
    return report
