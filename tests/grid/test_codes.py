"""Grid codes, levels and name normalisation (pure functions)."""

from __future__ import annotations

import pytest

from civicgrid.errors import InvalidInputError
from civicgrid.grid.codes import (
    GridLevel,
    implied_parent_code,
    nbs_code,
    normalise_code,
    parse_level,
    significant_admin_code,
    unit_code,
    validate_node_code,
)
from civicgrid.grid.names import name_key


@pytest.mark.parametrize(
    ("raw", "code", "level"),
    [
        ("37", "37", GridLevel.PROVINCE),
        ("370000000000", "37", GridLevel.PROVINCE),
        ("370200000000", "3702", GridLevel.CITY),
        ("370215", "370215", GridLevel.DISTRICT),
        ("370215000000", "370215", GridLevel.DISTRICT),
        ("370215002000", "370215002", GridLevel.STREET),
        ("370215002009", "370215002009", GridLevel.COMMUNITY),
        (" 370215400 ", "370215400", GridLevel.STREET),
    ],
)
def test_nbs_codes_normalise_to_their_significant_form(raw: str, code: str, level: GridLevel) -> None:
    assert significant_admin_code(raw) == (code, level)
    assert nbs_code(code, level) == code.ljust(12, "0")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("37021５", "数字"),
        ("3702150", "长度"),
        ("370215000", "全为0"),
        ("abc", "数字"),
        ("", "数字"),
        ("00", "全为0"),
        ("370215000009", "全为0"),  # a community under an all-zero street segment
        ("370015", "全为0"),
    ],
)
def test_bad_nbs_codes_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason):
        significant_admin_code(raw)


def test_a_child_must_extend_its_parent_and_sit_below_it() -> None:
    ok = validate_node_code(
        "370215002", GridLevel.STREET, parent_code="370215", parent_level=GridLevel.DISTRICT, unit_code_digits=3
    )
    assert ok == "370215002"
    with pytest.raises(InvalidInputError, match="没有延续上级代码") as caught:
        validate_node_code(
            "370216002", GridLevel.STREET, parent_code="370215", parent_level=GridLevel.DISTRICT, unit_code_digits=3
        )
    assert caught.value.code == "code_not_extending_parent"
    with pytest.raises(InvalidInputError, match="不能挂在"):
        validate_node_code(
            "370215", GridLevel.DISTRICT, parent_code="370215002", parent_level=GridLevel.STREET, unit_code_digits=3
        )
    with pytest.raises(InvalidInputError, match="与层级"):
        validate_node_code(
            "370215002", GridLevel.COMMUNITY, parent_code="370215", parent_level=GridLevel.DISTRICT, unit_code_digits=3
        )


def test_unit_codes_use_the_configured_suffix_and_may_nest() -> None:
    assert unit_code("370215002009", GridLevel.COMMUNITY, 7, 3) == "370215002009007"
    # Under a street or a district the base is the 12-digit padded code: a unit never looks like a community.
    assert unit_code("370215002", GridLevel.STREET, 1, 3) == "370215002000001"
    assert unit_code("370215", GridLevel.DISTRICT, 12, 3) == "370215000000012"
    with pytest.raises(InvalidInputError, match="没有延续"):
        validate_node_code(
            "370215002001", GridLevel.UNIT, parent_code="370215002", parent_level=GridLevel.STREET, unit_code_digits=3
        )
    with pytest.raises(InvalidInputError, match="必须挂在"):
        validate_node_code("3", GridLevel.UNIT, parent_code=None, parent_level=None, unit_code_digits=3)
    assert (
        validate_node_code(
            "370215002009007",
            GridLevel.UNIT,
            parent_code="370215002009",
            parent_level=GridLevel.COMMUNITY,
            unit_code_digits=3,
        )
        == "370215002009007"
    )
    assert (
        validate_node_code(
            "37021500200900701",
            GridLevel.UNIT,
            parent_code="370215002009007",
            parent_level=GridLevel.UNIT,
            unit_code_digits=2,
        )
        == "37021500200900701"
    )
    with pytest.raises(InvalidInputError, match="应为15位"):
        validate_node_code(
            "3702150020090007",
            GridLevel.UNIT,
            parent_code="370215002009",
            parent_level=GridLevel.COMMUNITY,
            unit_code_digits=3,
        )
    with pytest.raises(InvalidInputError, match="全为0"):
        validate_node_code(
            "370215002009000",
            GridLevel.UNIT,
            parent_code="370215002009",
            parent_level=GridLevel.COMMUNITY,
            unit_code_digits=3,
        )
    with pytest.raises(InvalidInputError, match="超出"):
        unit_code("370215002009", GridLevel.COMMUNITY, 1000, 3)


def test_levels_parse_from_english_and_chinese() -> None:
    assert parse_level("街道") is GridLevel.STREET
    assert parse_level("村") is GridLevel.COMMUNITY
    assert parse_level("unit") is GridLevel.UNIT
    with pytest.raises(InvalidInputError, match="无法识别的网格层级"):
        parse_level("小组")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("泰山社区居民委员会", "泰山社区"),
        ("泰山社区居委会", "泰山"),
        ("潮海街道办事处", "潮海街道"),
        ("王家庄村村民委员会", "王家庄村委会"),
        ("王家庄村民委员会", "王家庄村"),
        ("即墨区", "即墨市"),
        ("ＡＢＣ 社区", "ABC社区"),
    ],
)
def test_name_keys_equate_official_and_map_spellings(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_name_keys_keep_distinct_places_apart_and_never_empty_a_name() -> None:
    assert name_key("东城街道") != name_key("西城街道")
    assert name_key("社区") == "社区"
    assert name_key("新区") == "新区"
    assert name_key("天合光伏产业园社区") == "天合光伏产业园"


def test_codes_normalise_and_imply_their_parent() -> None:
    assert normalise_code(" 370215002000 ") == "370215002"
    assert normalise_code("370215002009001") == "370215002009001"
    with pytest.raises(InvalidInputError):
        normalise_code("37-02")
    assert implied_parent_code("370215002009", GridLevel.COMMUNITY, 3) == "370215002"
    assert implied_parent_code("370215002009001", GridLevel.UNIT, 3) == "370215002009"
    assert implied_parent_code("370215002000001", GridLevel.UNIT, 3) == "370215002"
    assert implied_parent_code("370215002009001007", GridLevel.UNIT, 3) == "370215002009001"
    assert implied_parent_code("37", GridLevel.PROVINCE, 3) is None
