"""Resident ID numbers (GB 11643), unified social credit codes (GB 32100) and mobile numbers: the real-format
examples pass and come back normalised; each kind of mistake is refused with its own code and a Chinese message."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.errors import InvalidInputError
from civicgrid.registry.identifiers import (
    check_credit_code,
    check_mobile,
    check_resident_id,
    mask_id_number,
)

TODAY = dt.date(2026, 11, 23)
GB11643_EXAMPLE = "11010519491231002X"  # the example of the standard itself: a woman born 31 Dec 1949 in 朝阳区


def test_the_standards_example_is_a_valid_resident_id() -> None:
    found = check_resident_id(" 11010519491231002x ", today=TODAY)
    assert found.number == GB11643_EXAMPLE
    assert found.birth_date == dt.date(1949, 12, 31) and not found.male
    assert found.region_code == "110105" and found.region_name == "北京市朝阳区"


def with_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2, written out here independently of the code under test."""
    total = sum(int(digit) * pow(2, 17 - index, 11) for index, digit in enumerate(first17))
    return first17 + "0123456789X"[(12 - total % 11) % 11]


def test_an_id_issued_under_a_region_code_since_retired_is_accepted() -> None:
    number = with_check_character("44052419800101001")  # 汕头市潮阳县 (440524), abolished; the number stays valid
    found = check_resident_id(number, today=TODAY)
    assert found.number == number and found.male and found.region_name is None


def test_the_check_character_agrees_with_an_independent_computation() -> None:
    for first17 in ("37028519900101123", "11010519491231002", "65010220001231999", "37021220121212000"):
        assert check_resident_id(with_check_character(first17), today=TODAY).number[:17] == first17


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("11010519491231002", "id_number_length", "应为18位，实为17位"),
        ("", "id_number_length", "（空）"),
        ("1101051949123100AX", "id_number_format", "只能由数字组成"),
        ("99010519491231002X", "id_number_region", "前两位99"),
        ("110105194902300028", "id_number_birth_date", "19490230"),
        ("110105203001010023", "id_number_birth_date", "20300101"),  # born after today
        ("110105194912310021", "id_number_checksum", "应为X"),
    ],
)
def test_a_wrong_resident_id_is_refused_with_what_is_wrong(value: str, code: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_resident_id(value, today=TODAY)
    assert refused.value.code == code
    assert words in refused.value.message and "身份证号码" in refused.value.message


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example of GB 32100 itself
        "914403001922038216",  # 华为技术有限公司
        "91330100716105852F",  # 阿里巴巴（中国）有限公司
        "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    ],
)
def test_real_credit_codes_pass(code: str) -> None:
    assert check_credit_code(code.lower()) == code
    assert check_credit_code(f" {code[:6]} {code[6:]} ") == code


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("91350100M000100Y4", "credit_code_length", "实为17位"),
        ("91350100M0001O0Y43", "credit_code_format", "O"),
        ("91AB0100M000100Y43", "credit_code_region", "行政区划代码"),
        ("91350100M000100Y44", "credit_code_checksum", "应为3"),
    ],
)
def test_a_wrong_credit_code_is_refused_with_what_is_wrong(value: str, code: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_credit_code(value)
    assert refused.value.code == code and words in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("8619912345678", "19912345678")],
)
def test_mobile_numbers_are_normalised(value: str, expected: str) -> None:
    assert check_mobile(value) == expected


@pytest.mark.parametrize("value", ["12812345678", "1381234567", "138123456789", "0532-88886666", ""])
def test_other_numbers_are_not_mobiles(value: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_mobile(value)
    assert refused.value.code == "mobile_format" and "手机号码" in refused.value.message


def test_masking_keeps_the_first_and_last_four() -> None:
    assert mask_id_number(GB11643_EXAMPLE) == "1101**********002X"
    assert mask_id_number("12345") == "*****" and mask_id_number(None) is None and mask_id_number("") == ""
