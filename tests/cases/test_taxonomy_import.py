"""An administrator's taxonomy from Excel: the real 517-leaf 问政 taxonomy, attributes per leaf, broken rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from civicgrid.cases.models import Category
from civicgrid.cases.taxonomy import effective_limits, get_category, is_leaf
from civicgrid.cases.taxonomy_import import import_categories_file
from civicgrid.errors import InvalidInputError, PermissionDeniedError

from .conftest import District

REAL_TAXONOMY = Path(__file__).parents[1] / "data" / "real" / "taxonomy_3level_tipdm2020c.xlsx"


def _categories(d: District) -> int:
    return d.session.execute(select(func.count()).select_from(Category)).scalar_one()


def _leaf(d: District, *path: str) -> Category:
    category = None
    for name in path:
        parent_id = category.id if category is not None else None
        category = d.session.execute(
            select(Category).where(Category.name == name, Category.parent_id == parent_id)  # == None is IS NULL
        ).scalar_one()
    assert category is not None
    return category


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_the_real_three_level_taxonomy_goes_in_and_a_second_import_changes_no_code(district: District) -> None:
    d = district
    before = _categories(d)
    report = import_categories_file(d.session, d.system, REAL_TAXONOMY)
    assert report.applied and not report.rejected and report.total == 517
    new = [get_category(d.session, code) for code in report.created]
    assert sum(1 for c in new if c.depth == 0) == 15
    leaves = [c for c in new if is_leaf(d.session, c)]
    assert len(leaves) == 517 and all(len(c.code) == 6 for c in leaves)
    assert _categories(d) == before + len(report.created)
    accident = _leaf(d, "城乡建设", "安全生产", "事故处理")
    assert accident.code.startswith(_leaf(d, "城乡建设").code)

    again = import_categories_file(d.session, d.system, REAL_TAXONOMY)
    assert again.applied and again.created == [] and len(again.updated) == 517
    assert _leaf(d, "城乡建设", "安全生产", "事故处理").code == accident.code


def test_leaf_attributes_limits_department_and_self_handling_come_from_their_columns(
    district: District, tmp_path: Path
) -> None:
    d = district
    file = _xlsx(
        tmp_path / "类别.xlsx",
        [
            ["大类", "小类", "主办部门", "优先级", "处置时限", "核查时限", "可自处置", "案件类型"],
            ["防汛", "积水点", "HC-CG", 1, "2小时", "4h", "是", "city_management"],
            ["防汛", "井盖缺失", "ZJJ", "2", "3工作日", None, "否", None],
        ],
    )
    report = import_categories_file(d.session, d.system, file)
    assert report.applied and report.warnings == []
    ponding = _leaf(d, "防汛", "积水点")
    assert (ponding.default_department_code, ponding.priority, ponding.self_handle_allowed) == ("HC-CG", 1, True)
    assert ponding.case_type_code == "city_management"
    assert effective_limits(ponding)["handle"] == {"value": 2, "unit": "hours"}
    assert effective_limits(ponding)["verify"] == {"value": 4, "unit": "hours"}
    manhole = _leaf(d, "防汛", "井盖缺失")
    assert effective_limits(manhole)["handle"] == {"value": 3, "unit": "days"}
    assert effective_limits(manhole)["verify"] == {"value": 1, "unit": "days"}  # the default
    assert not manhole.self_handle_allowed


def test_broken_rows_are_named_by_row_and_nothing_is_written_unless_the_good_part_is_kept(
    district: District, tmp_path: Path
) -> None:
    d = district
    rows = [
        ["一级分类", "二级分类", "三级分类", "处置时限", "优先级", "可自处置", "案件类型", "主办部门"],
        ["住房保障", "物业管理", "停车收费", None, None, None, None, "WYK"],  # 2: good; the department is new
        ["住房保障", None, "维修基金", None, None, None, None, None],  # 3: a gap in the path
        ["住房保障", "物业管理", "电梯故障", "三天", None, None, None, None],  # 4: unreadable limit
        ["住房保障", "物业管理", "停车收费", None, None, None, None, None],  # 5: repeats row 2
        ["住房保障", "物业管理", "噪音", None, 9, None, None, None],  # 6: priority out of range
        ["住房保障", "物业管理", "绿化", None, None, "也许", None, None],  # 7: not yes or no
        ["住房保障", "物业管理", "门禁", None, None, None, "no_such_type", None],  # 8: unknown case type
        [None, None, None, None, None, None, None, None],  # an empty row is skipped, not refused
        ["住房保障", "拆迁安置", None, "15工作日", "2", "否", None, None],  # 10: good, a two-level leaf
    ]
    file = _xlsx(tmp_path / "broken.xlsx", rows)
    before = _categories(d)
    report = import_categories_file(d.session, d.system, file)
    refused = {r.index: r.code for r in report.rejected}
    assert refused == {
        3: "gap_in_path",
        4: "invalid_limit",
        5: "duplicate_row",
        6: "invalid_priority",
        7: "invalid_boolean",
        8: "case_type_not_found",
    }
    assert "第2级分类为空" in report.rejected[0].reason and "与第2行重复" in report.rejected[2].reason
    assert not report.applied and _categories(d) == before and "未写入任何数据" in report.summary()

    kept = import_categories_file(d.session, d.system, file, keep_good=True)
    assert kept.applied and len(kept.rejected) == 6
    assert _leaf(d, "住房保障", "物业管理", "停车收费").default_department_code == "WYK"
    assert any("WYK" in warning for warning in kept.warnings)
    assert effective_limits(_leaf(d, "住房保障", "拆迁安置"))["handle"] == {"value": 15, "unit": "days"}
    assert _categories(d) == before + 4  # 住房保障, 物业管理, 停车收费, 拆迁安置


def test_a_row_with_several_problems_is_refused_for_each(district: District, tmp_path: Path) -> None:
    rows = [
        ["一级分类", "二级分类", "三级分类", "立案时限", "处置时限", "优先级", "可自处置", "案件类型"],
        ["住房保障", None, "维修基金", "半天", "三天", 9, "也许", "no_such_type"],  # six problems
        ["住房保障", "物业管理", "噪音", None, "0小时", None, None, None],  # one
    ]
    report = import_categories_file(district.session, district.system, _xlsx(tmp_path / "many.xlsx", rows))
    first, second = report.rejected
    assert first.index == 2 and [code for _, code in first.problems] == [
        "gap_in_path",
        "case_type_not_found",
        "invalid_limit",
        "invalid_limit",
        "invalid_priority",
        "invalid_boolean",
    ]
    for said in ("第2级分类为空", "no_such_type", "半天", "三天", "优先级“9”", "也许"):
        assert said in first.reason, said
    assert second.index == 3 and second.problems == () and "必须大于0" in second.reason
    gap = {"reason": "第2级分类为空，但其下级有内容", "code": "gap_in_path"}
    assert report.to_dict()["rejected"][0]["problems"][0] == gap


def test_a_file_without_level_columns_or_a_person_without_the_right_is_refused_whole(
    district: District, tmp_path: Path
) -> None:
    d = district
    no_levels = tmp_path / "no_levels.csv"
    no_levels.write_text("名称,时限\n垃圾,4小时\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="找不到分类列") as missing:
        import_categories_file(d.session, d.system, no_levels)
    assert missing.value.code == "missing_columns"
    skipped = tmp_path / "skipped.csv"
    skipped.write_text("一级分类,三级分类\n市容,垃圾\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="分类列不连续"):
        import_categories_file(d.session, d.system, skipped)
    with pytest.raises(PermissionDeniedError):
        import_categories_file(d.session, d.grid_worker, REAL_TAXONOMY)
