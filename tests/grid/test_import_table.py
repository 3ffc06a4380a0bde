"""Importing the grid tree from NBS division tables and unit-grid lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.audit import AuditEntry
from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.grid.check import check_grid
from civicgrid.grid.import_table import import_division_table
from civicgrid.grid.models import GridNode
from civicgrid.importing import read_text_file
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(GridNode)).scalar_one()


def _node(session: Session, code: str) -> GridNode:
    return session.execute(select(GridNode).where(GridNode.code == code)).scalar_one()


def test_real_nbs_rows_build_jimo_with_its_streets_and_communities(
    session: Session, system: Actor, real_data: Path
) -> None:
    text = read_text_file(real_data / "villages_4districts_2021.csv")
    report = import_division_table(session, system, text, source="villages.csv", root_code="370215")
    assert report.ok
    assert report.applied
    district = _node(session, "370215")
    assert district.name == "即墨区"
    assert district.level == "district"
    assert district.parent is not None
    assert district.parent.code == "3702"
    assert district.parent.parent.code == "37"
    chaohai = _node(session, "370215002")
    assert chaohai.name == "潮海街道"
    assert chaohai.level == "street"
    assert chaohai.parent_id == district.id
    taishan = _node(session, "370215002009")
    assert taishan.name == "泰山社区居民委员会"
    assert taishan.parent_id == chaohai.id
    assert taishan.depth == 4
    streets = session.execute(select(func.count()).where(GridNode.level == "street")).scalar_one()
    communities = session.execute(select(func.count()).where(GridNode.level == "community")).scalar_one()
    assert streets == 17  # 11 街道 + 4 镇 + 通济新经济区 + 田横岛省级旅游度假区
    assert communities == 197
    assert any("不在“370215”范围内" in warning for warning in report.warnings)
    assert session.execute(select(AuditEntry).where(AuditEntry.action == "grid.import.table")).scalar_one()


def test_reimport_is_idempotent_and_renames_changed_names(session: Session, system: Actor, real_data: Path) -> None:
    text = read_text_file(real_data / "villages_4districts_2021.csv")
    import_division_table(session, system, text, source="first", root_code="370215")
    before = _count(session)
    renamed = text.replace("泰山社区居民委员会", "泰山社区")
    report = import_division_table(session, system, renamed, source="second", root_code="370215")
    assert report.created == []
    assert report.updated == ["370215002009"]
    assert _count(session) == before
    assert _node(session, "370215002009").name == "泰山社区"


def test_flat_country_layout_and_padded_codes(session: Session, system: Actor) -> None:
    text = "code,name\n370000000000,山东省\n370200000000,青岛市\n370215000000,即墨区\n370215002000,潮海街道\n"
    report = import_division_table(session, system, text, source="flat")
    assert report.applied
    assert report.created == ["37", "3702", "370215", "370215002"]
    assert _node(session, "370215002").parent.code == "370215"  # type: ignore[union-attr]


def test_unit_grid_list_with_level_column(session: Session, system: Actor) -> None:
    base = "区划代码,名称,层级\n370215,即墨区,区县\n370215002,潮海街道,街道\n370215002009,泰山社区,社区\n"
    units = "370215002009001,泰山社区第一网格,网格\n370215002009002,泰山社区第二网格,网格\n"
    report = import_division_table(session, system, base + units, source="units")
    assert report.ok
    unit = _node(session, "370215002009001")
    assert unit.level == "unit"
    assert unit.parent.code == "370215002009"


def test_bad_rows_are_named_and_nothing_is_written(session: Session, system: Actor) -> None:
    text = (
        "code,name\n"
        "370215,即墨区\n"  # row 2 fine
        "37021500X,坏代码\n"  # row 3: not digits
        "3702150021,十位代码\n"  # row 4: wrong length
        "370215002,潮海街道\n"  # row 5: same code as row 6 with another name — which is right? both refused
        "370215002,另一个名字\n"  # row 6
        "370215003,通济街道\n"  # row 7 fine
        ",无代码\n"  # row 8
        "370215000009,坏社区\n"  # row 9: all-zero street segment
        "3,孤立网格,\n"  # row 10: a code of no administrative length
    )
    report = import_division_table(session, system, text, source="bad.csv")
    rows = {item.index: item for item in report.rejected}
    assert set(rows) == {3, 4, 5, 6, 8, 9, 10}
    assert "只能由数字组成" in rows[3].reason
    assert "长度" in rows[4].reason
    assert rows[5].code == rows[6].code == "duplicate_code"
    assert "潮海街道" in rows[6].reason
    assert "另一个名字" in rows[5].reason
    assert "全为0" in rows[9].reason
    assert report.created == []
    assert not report.applied
    assert _count(session) == 0
    assert "未写入任何数据" in report.summary()


def test_keep_good_writes_the_good_rows_and_still_reports_the_bad(session: Session, system: Actor) -> None:
    text = "code,name\n370215,即墨区\n37021500X,坏代码\n370215002,潮海街道\n370215002009001,跳级网格\n"
    report = import_division_table(session, system, text, source="bad.csv", keep_good=True)
    assert report.applied
    assert [item.index for item in report.rejected] == [3, 5]
    assert _count(session) == 2


def test_missing_parent_is_refused_and_children_of_rejected_rows_cascade(session: Session, system: Actor) -> None:
    text = "code,name\n370215,即墨区\n370215002009,泰山社区\n370215002009001,网格\n"
    report = import_division_table(session, system, text, source="gap.csv")
    reasons = {item.index: item.code for item in report.rejected}
    assert reasons[3] == "parent_not_found"
    assert reasons[4] == "parent_rejected"
    assert _count(session) == 0


def test_explicit_parent_cycles_are_named(session: Session, system: Actor) -> None:
    text = (
        "code,name,parent_code,level\n"
        "370215002009001,甲,370215002009002,网格\n"
        "370215002009002,乙,370215002009001,网格\n"
    )
    report = import_division_table(session, system, text, source="cycle.csv")
    assert {item.code for item in report.rejected} == {"parent_cycle"}
    assert "→" in report.rejected[0].reason
    assert _count(session) == 0


def test_explicit_parent_that_the_code_does_not_extend_is_refused(session: Session, system: Actor) -> None:
    text = "code,name,parent_code\n370215,即墨区,\n370216,莱西,\n370215002,潮海街道,370216\n"
    report = import_division_table(session, system, text, source="wrong-parent.csv")
    assert [item.code for item in report.rejected] == ["code_not_extending_parent"]


def test_unknown_layout_and_missing_root_are_refused(session: Session, system: Actor) -> None:
    with pytest.raises(InvalidInputError, match="无法识别表头"):
        import_division_table(session, system, "foo,bar\n1,2\n", source="x")
    with pytest.raises(InvalidInputError, match="根区划"):
        import_division_table(session, system, "code,name\n370215,即墨区\n", source="x", root_code="110105")


def test_only_grid_managers_may_import(session: Session) -> None:
    reader = Actor(user_id=7, username="w", display_name="网格员", permissions=frozenset({Permission.GRID_READ}))
    with pytest.raises(PermissionDeniedError):
        import_division_table(session, reader, "code,name\n370215,即墨区\n", source="x")


def test_rows_outside_the_importers_scope_are_rejected(session: Session, system: Actor) -> None:
    import_division_table(session, system, "code,name\n370215,即墨区\n370216,莱西\n", source="base")
    street_admin = Actor(
        user_id=None,
        username="a",
        display_name="街道管理员",
        grid_codes=("370215",),
        permissions=frozenset(Permission),
    )
    report = import_division_table(
        session, street_admin, "code,name\n370215002,潮海街道\n370216001,外区街道\n", source="scoped"
    )
    assert [(item.index, item.code) for item in report.rejected] == [(3, "out_of_scope")]


def test_a_district_imported_before_its_city_is_adopted_when_the_city_comes(session: Session, system: Actor) -> None:
    import_division_table(session, system, "code,name\n370215,即墨区\n370215002,潮海街道\n", source="first")
    assert _node(session, "370215").parent_id is None
    report = import_division_table(session, system, "code,name\n37,山东省\n3702,青岛市\n", source="later")
    assert report.applied
    session.expire_all()
    district = _node(session, "370215")
    assert district.parent is not None
    assert district.parent.code == "3702"
    assert district.depth == 2
    assert _node(session, "370215002").depth == 3
    assert check_grid(session, system).problems == []


def test_a_scoped_admin_can_reimport_her_whole_district_file(session: Session, system: Actor, real_data: Path) -> None:
    text = read_text_file(real_data / "villages_4districts_2021.csv")
    import_division_table(session, system, text, source="villages", root_code="370215")
    district_admin = Actor(
        user_id=None, username="a", display_name="区管理员", grid_codes=("370215",), permissions=frozenset(Permission)
    )
    again = import_division_table(session, district_admin, text, source="villages", root_code="370215")
    assert again.rejected == []
    assert len(again.unchanged) == 1 + 1 + 1 + 17 + 197  # province, city, district, towns, villages
    renamed = import_division_table(session, district_admin, "code,name\n3702,青岛（改名）\n", source="rename-above")
    assert [item.code for item in renamed.rejected] == ["out_of_scope"]


def test_unit_grids_need_their_parent(session: Session, system: Actor) -> None:
    report = import_division_table(session, system, "code,name,level\n370215002009001,网格,网格\n", source="x")
    assert [item.code for item in report.rejected] == ["parent_not_found"]
