"""Importing boundaries from GeoJSON: real OSM and DataV files, CRS handling, matching, and every refusal."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.errors import InvalidInputError
from civicgrid.geo.metric import LocalProjection
from civicgrid.grid import service
from civicgrid.grid.codes import GridLevel
from civicgrid.grid.import_boundaries import BoundaryOptions, import_boundaries
from civicgrid.grid.models import GridNode
from civicgrid.importing import ImportReport
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission

JIMO = "370215"


def _feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _drawn(session: Session) -> set[str]:
    return set(session.execute(select(GridNode.code).where(GridNode.geometry.is_not(None))).scalars())


def test_real_osm_streets_match_by_name_and_the_report_says_what_is_missing(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport
) -> None:
    report = jimo_with_boundaries
    assert report.ok
    assert report.total == 16
    assert len(report.updated) == 16
    chaohai = service.get_node(session, system, "370215002")
    assert chaohai.has_geometry
    assert chaohai.area_m2 is not None
    assert 20e6 < chaohai.area_m2 < 200e6
    # The district carries the obsolete 370282 code in OSM: matched by name, and said so.
    assert any("370282" in warning and "即墨区" in warning for warning in report.warnings)
    # 通济新经济区 and 田横岛省级旅游度假区 have no OSM polygon: named in the report.
    missing = next(warning for warning in report.warnings if "仍没有边界" in warning)
    assert "通济新经济区" in missing
    assert "田横岛省级旅游度假区" in missing


def test_gcj02_datav_outline_lands_on_the_wgs84_osm_outline_only_when_declared(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport, real_data: Path
) -> None:
    osm = service.node_geometry(service.get_node(session, system, JIMO))
    assert osm is not None
    projection = LocalProjection.around(osm)
    osm_edge = projection.to_metric(osm).boundary
    datav = json.loads((real_data / "370215_jimo_district_datav.geojson").read_text("utf-8"))

    def median_vertex_offset_m(crs: str) -> float:
        import_boundaries(session, system, datav, source="datav", options=BoundaryOptions(crs=crs))
        stored = service.node_geometry(service.get_node(session, system, JIMO))
        vertices = shapely.points(shapely.get_coordinates(projection.to_metric(stored)))
        return float(np.median(shapely.distance(vertices, osm_edge)))

    # Most DataV vertices sit on the OSM line once the GCJ-02 shift is undone (two tracings of one boundary) ...
    assert median_vertex_offset_m("gcj02") < 5
    # ... and a hundred metres and more away from it had we believed the file was WGS-84.
    assert median_vertex_offset_m("wgs84") > 100


def test_a_declared_crs_that_contradicts_the_file_is_refused(
    session: Session, system: Actor, jimo_tree: ImportReport, osm_streets: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="不一致") as caught:
        import_boundaries(session, system, osm_streets, source="osm", options=BoundaryOptions(crs="gcj02"))
    assert caught.value.code == "crs_conflict"
    assert _drawn(session) == set()


def test_a_missing_or_unknown_crs_is_refused(session: Session, system: Actor, jimo_tree: ImportReport) -> None:
    document = _collection(_feature(mapping(box(120.4, 36.3, 120.5, 36.4)), name="潮海街道"))
    with pytest.raises(InvalidInputError) as missing:
        import_boundaries(session, system, document, source="x", options=BoundaryOptions(crs=None))
    assert missing.value.code == "missing_crs"
    with pytest.raises(InvalidInputError) as unknown:
        import_boundaries(session, system, document, source="x", options=BoundaryOptions(crs="epsg:3857"))
    assert unknown.value.code == "unknown_crs"
    assert _drawn(session) == set()


def test_malformed_geojson_names_line_and_column(session: Session, system: Actor) -> None:
    with pytest.raises(InvalidInputError, match="第2行") as caught:
        import_boundaries(
            session,
            system,
            b'{"type": "FeatureCollection",\n "features": [,]}',
            source="x",
            options=BoundaryOptions(crs="wgs84"),
        )
    assert caught.value.code == "malformed_geojson"
    with pytest.raises(InvalidInputError, match="应为要素集合或要素，实际为“Topology”"):
        import_boundaries(session, system, {"type": "Topology"}, source="x", options=BoundaryOptions(crs="wgs84"))


def test_every_bad_feature_is_named_and_nothing_changes_unless_asked(
    session: Session, system: Actor, jimo_tree: ImportReport, osm_streets: dict[str, Any]
) -> None:
    by_name = {f["properties"]["name"]: f for f in osm_streets["features"]}
    good = _feature(by_name["潮海街道"]["geometry"], name="潮海街道")
    point = _feature({"type": "Point", "coordinates": [120.45, 36.4]}, name="环秀街道")
    bowtie = _feature(
        {
            "type": "Polygon",
            "coordinates": [[[120.3, 36.3], [120.4, 36.4], [120.4, 36.3], [120.3, 36.4], [120.3, 36.3]]],
        },
        name="龙山街道",
    )
    unknown = _feature(by_name["温泉街道"]["geometry"], name="不存在街道")
    twice = _feature(by_name["潮海街道"]["geometry"], name="潮海街道办事处")
    swapped = _feature(
        {"type": "Polygon", "coordinates": [[[36.3, 120.3], [36.3, 120.4], [36.4, 120.4], [36.3, 120.3]]]},
        name="北安街道",
    )
    broken = {"type": "Feature", "properties": {"name": "蓝村街道"}, "geometry": {"type": "Polygon", "coordinates": 5}}
    document = _collection(good, point, bowtie, unknown, twice, swapped, broken)
    report = import_boundaries(session, system, document, source="bad", options=BoundaryOptions(crs="wgs84"))
    codes = {item.index: item.code for item in report.rejected}
    assert codes == {
        2: "not_polygonal",
        3: "invalid_geometry",
        4: "unmatched",
        5: "duplicate_match",
        6: "swapped_axes",
        7: "malformed_feature",
    }
    assert "第1个要素" in next(item.reason for item in report.rejected if item.index == 5)
    assert not report.applied
    assert _drawn(session) == set()
    kept = import_boundaries(
        session, system, document, source="bad", options=BoundaryOptions(crs="wgs84", keep_good=True)
    )
    assert kept.applied
    assert kept.updated == ["370215002"]
    assert len(kept.rejected) == 6
    assert _drawn(session) == {"370215002"}


def test_safe_repairs_only_when_asked_and_only_when_safe(
    session: Session, system: Actor, jimo_tree: ImportReport
) -> None:
    # A ring touching itself at one point: make_valid keeps the area exactly — safe.
    pinched = {
        "type": "Polygon",
        "coordinates": [
            [
                [120.40, 36.30],
                [120.50, 36.30],
                [120.45, 36.35],
                [120.50, 36.40],
                [120.40, 36.40],
                [120.45, 36.35],
                [120.40, 36.30],
            ]
        ],
    }
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[120.3, 36.3], [120.4, 36.4], [120.4, 36.3], [120.3, 36.4], [120.3, 36.3]]],
    }
    document = _collection(_feature(pinched, name="潮海街道"), _feature(bowtie, name="龙山街道"))
    refused = import_boundaries(session, system, document, source="x", options=BoundaryOptions(crs="wgs84"))
    assert [item.code for item in refused.rejected] == ["invalid_geometry", "invalid_geometry"]
    repaired = import_boundaries(
        session, system, document, source="x", options=BoundaryOptions(crs="wgs84", repair=True, keep_good=True)
    )
    assert repaired.updated == ["370215002"]
    assert [item.index for item in repaired.rejected] == [2]  # the bow-tie needs a person
    assert any("make_valid" in warning for warning in repaired.warnings)
    stored = service.node_geometry(service.get_node(session, system, "370215002"))
    assert stored is not None
    assert shapely.is_valid(stored)


def test_ambiguous_names_are_refused_with_candidates_and_a_narrower_scope_resolves_them(
    session: Session, system: Actor, jimo_tree: ImportReport
) -> None:
    service.create_node(
        session, system, code="370215001099", name="和平社区", level=GridLevel.COMMUNITY, parent_code="370215001"
    )
    service.create_node(
        session, system, code="370215002099", name="和平社区居委会", level=GridLevel.COMMUNITY, parent_code="370215002"
    )
    document = _collection(_feature(mapping(box(120.44, 36.38, 120.45, 36.39)), name="和平社区居民委员会"))
    report = import_boundaries(session, system, document, source="x", options=BoundaryOptions(crs="wgs84"))
    assert report.rejected[0].code == "ambiguous_name"
    assert "370215001099" in report.rejected[0].reason
    assert "370215002099" in report.rejected[0].reason
    narrowed = import_boundaries(
        session, system, document, source="x", options=BoundaryOptions(crs="wgs84", within_code="370215002")
    )
    assert narrowed.updated == ["370215002099"]


def test_codes_match_first_and_new_unit_grids_can_be_created_from_codes(
    session: Session, system: Actor, jimo_tree: ImportReport
) -> None:
    units = _collection(
        _feature(mapping(box(120.440, 36.380, 120.445, 36.385)), grid_code="370215002009001", 网格名称="泰山一网格"),
        _feature(mapping(box(120.445, 36.380, 120.450, 36.385)), grid_code="370215002009002", 网格名称="泰山二网格"),
    )
    refused = import_boundaries(session, system, units, source="units", options=BoundaryOptions(crs="wgs84"))
    assert [item.code for item in refused.rejected] == ["unmatched", "unmatched"]
    created = import_boundaries(
        session,
        system,
        units,
        source="units",
        options=BoundaryOptions(crs="wgs84", create_missing=True, level=GridLevel.UNIT),
    )
    assert created.created == ["370215002009001", "370215002009002"]
    unit = service.get_node(session, system, "370215002009002")
    assert unit.name == "泰山二网格"
    assert unit.level == "unit"
    assert unit.parent.code == "370215002009"
    adcode = _collection(_feature(mapping(box(120.3, 36.3, 120.7, 36.7)), adcode=370215, name="完全不同的名字"))
    by_code = import_boundaries(session, system, adcode, source="adcode", options=BoundaryOptions(crs="wgs84"))
    assert by_code.updated == [JIMO]


def test_a_boundary_far_outside_its_parent_is_flagged_as_a_likely_crs_mistake(
    session: Session, system: Actor, jimo_with_boundaries: ImportReport, osm_streets: dict[str, Any]
) -> None:
    chaohai = copy.deepcopy(next(f for f in osm_streets["features"] if f["properties"]["name"] == "潮海街道"))
    moved = shapely.affinity.translate(shapely.geometry.shape(chaohai["geometry"]), xoff=1.5)
    document = _collection(_feature(mapping(moved), name="潮海街道"))
    report = import_boundaries(session, system, document, source="moved", options=BoundaryOptions(crs="wgs84"))
    assert any("落在上级“即墨区”内" in warning and "坐标系" in warning for warning in report.warnings)


def test_boundaries_outside_the_importers_scope_are_rejected(
    session: Session, jimo_tree: ImportReport, osm_streets: dict[str, Any]
) -> None:
    street_admin = Actor(
        user_id=None,
        username="a",
        display_name="潮海管理员",
        grid_codes=("370215002",),
        permissions=frozenset(Permission),
    )
    report = import_boundaries(
        session, street_admin, osm_streets, source="osm", options=BoundaryOptions(crs="wgs84", keep_good=True)
    )
    assert report.updated == ["370215002"]
    rejected = {item.code for item in report.rejected}
    assert rejected <= {"out_of_scope", "unmatched"}
    assert "out_of_scope" in rejected


def test_nodes_a_feature_would_create_are_checked_before_anything_is_written(
    session: Session, system: Actor, jimo_tree: ImportReport
) -> None:
    good = _feature(mapping(box(120.440, 36.380, 120.445, 36.385)), grid_code="370215002009001", 网格名称="一网格")
    skipping = _feature(mapping(box(120.445, 36.380, 120.450, 36.385)), grid_code="370215002999001", 网格名称="无上级")
    too_long = _feature(mapping(box(120.450, 36.380, 120.455, 36.385)), grid_code="3702150020090002", 网格名称="长码")
    existing = _feature(mapping(box(120.3, 36.3, 120.7, 36.7)), grid_code="370215002", 网格名称="潮海街道")
    options = BoundaryOptions(crs="wgs84", create_missing=True, level=GridLevel.UNIT, keep_good=True)
    report = import_boundaries(
        session, system, _collection(good, skipping, too_long, existing), source="units", options=options
    )
    codes = {item.index: item.code for item in report.rejected}
    assert codes == {2: "code_not_extending_parent", 3: "invalid_code_length", 4: "outside_filter"}
    assert report.applied
    assert report.created == ["370215002009001"]


def test_an_empty_collection_is_refused_and_heights_are_dropped(
    session: Session, system: Actor, jimo_tree: ImportReport
) -> None:
    with pytest.raises(InvalidInputError, match="没有任何要素"):
        import_boundaries(session, system, _collection(), source="x", options=BoundaryOptions(crs="wgs84"))
    ring = [[120.44, 36.38, 5.0], [120.45, 36.38, 5.0], [120.45, 36.39, 5.0], [120.44, 36.38, 5.0]]
    report = import_boundaries(
        session,
        system,
        _collection(_feature({"type": "Polygon", "coordinates": [ring]}, name="潮海街道")),
        source="z",
        options=BoundaryOptions(crs="wgs84"),
    )
    assert report.updated == ["370215002"]
    stored = service.node_geometry(service.get_node(session, system, "370215002"))
    assert stored is not None
    assert not stored.has_z
