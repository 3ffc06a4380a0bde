"""A category named as people name it: its code, its name, its path, or a part that fits one category — in intake,
in the register action and in a campaign's hazard answer alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.campaigns.questions import check_form
from civicgrid.cases.actions import ActionInput, perform
from civicgrid.cases.intake import IntakeRequest, intake
from civicgrid.cases.models import Category, Channel
from civicgrid.cases.taxonomy import category_entries, find_category, leaf_category
from civicgrid.cases.workflow import Action
from civicgrid.errors import InvalidInputError, NotFoundError

from .conftest import District


def _code(district: District, name: str) -> str:
    return district.session.execute(select(Category.code).where(Category.name == name)).scalar_one()


def test_a_leaf_is_found_by_code_name_path_or_a_part_that_fits_it_alone(district: District) -> None:
    session = district.session
    exposed = _code(district, "暴露垃圾")
    for typed in (
        exposed,
        "暴露垃圾",
        " 暴露垃圾 ",
        "市容环境 › 暴露垃圾",
        "市容环境/暴露垃圾",
        "暴露",
        "市容环境暴露",
    ):
        assert leaf_category(session, typed).code == exposed, typed
    assert leaf_category(session, "垃圾桶").name == "垃圾桶破损"
    assert leaf_category(session, "井盖").name == "井盖缺失破损"


def test_a_part_that_fits_several_is_refused_naming_them(district: District) -> None:
    with pytest.raises(InvalidInputError) as refused:
        leaf_category(district.session, "垃圾")
    assert refused.value.code == "category_ambiguous"
    assert "暴露垃圾" in refused.value.message and "垃圾桶破损" in refused.value.message
    assert "积存垃圾渣土" in refused.value.message
    assert set(refused.value.detail["candidates"]) == {
        _code(district, "暴露垃圾"),
        _code(district, "积存垃圾渣土"),
        _code(district, "垃圾桶破损"),
    }


def test_a_large_category_is_refused_naming_the_small_ones_and_nothing_is_refused_as_a_crash(
    district: District,
) -> None:
    with pytest.raises(InvalidInputError) as large:
        leaf_category(district.session, "市容环境")
    assert large.value.code == "category_not_leaf" and "暴露垃圾" in large.value.message
    assert find_category(district.session, "市容环境").name == "市容环境"  # a filter may name a large one
    with pytest.raises(NotFoundError) as unknown:
        leaf_category(district.session, "飞碟降落")
    assert unknown.value.code == "category_not_found" and "飞碟降落" in unknown.value.message


def test_a_name_two_branches_share_is_shown_by_its_path(district: District) -> None:
    shown = {entry.code: entry.shown for entry in category_entries(district.session) if entry.leaf}
    assert shown[_code(district, "暴露垃圾")] == "暴露垃圾"
    assert len(set(shown.values())) == len(shown)  # every box value names one category
    for code, value in shown.items():
        assert leaf_category(district.session, value).code == code


def test_intake_and_registering_take_the_name(district: District) -> None:
    request = IntakeRequest(channel=Channel.HOTLINE_12345, description="路口有暴露垃圾", category_code="暴露垃圾")
    case = intake(district.session, district.hotline, request, settings=district.settings).case
    assert case.category is not None and case.category.name == "暴露垃圾"
    later = intake(
        district.session,
        district.hotline,
        IntakeRequest(channel=Channel.HOTLINE_12345, description="商户占道"),
        settings=district.settings,
    ).case
    perform(
        district.session, district.district_dispatcher, later.number, Action.REGISTER, ActionInput(category_code="占道")
    )
    assert later.category is not None and later.category.name == "占道经营"


def test_a_campaign_hazard_is_named_the_same_way(district: District) -> None:
    question = {"key": "gas", "label": "燃气", "type": "yes_no", "hazard_when": "是", "hazard_category": "燃气"}
    checked = check_form(district.session, [question])
    assert checked[0].hazard_category == _code(district, "燃气安全隐患")
    with pytest.raises(InvalidInputError) as refused:
        check_form(district.session, [{**question, "hazard_category": "垃圾"}])
    assert refused.value.code == "form_bad_category" and "燃气" in refused.value.message
