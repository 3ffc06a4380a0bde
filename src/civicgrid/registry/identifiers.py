"""The identifiers the registry keeps, checked against their standards before anything is stored, and masked for
everyone who may not see them in full.

- 公民身份号码 (GB 11643-1999): 18 characters — 6 digits of the issuing region, the birth date (YYYYMMDD), a 3-digit
  sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character (0-9 or X).
- 统一社会信用代码 (GB 32100-2015): 18 characters from 0-9 and the capitals without I, O, Z, S, V — registering
  authority, organisation type, 6-digit region, 9-character organisation code, and a MOD 31 check character.
- 手机号码: 11 digits starting 13-19 (an optional +86 / 86 prefix and spaces or dashes are accepted and dropped).

The check digits and the region table are python-stdnum's (``stdnum.cn``); the rules about what a platform may
accept (the province must exist, the birth date must be a real past date after 1900) and the Chinese messages are
ours. Each checker returns the normalised value or raises ``InvalidInputError`` with a message for the user and a
precise ``code`` for the API.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent

from civicgrid.errors import InvalidInputError

# GB/T 2260 province-level codes (the first two digits of a region code).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})  # fmt: skip
CREDIT_CODE_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")  # GB 32100: no I, O, Z, S, V
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-]")


@dataclass(frozen=True)
class ResidentId:
    number: str  # 18 characters, the check character upper-case
    birth_date: dt.date
    male: bool
    region_code: str  # the issuing region (6 digits)
    region_name: str | None  # 山东省莱西市, when python-stdnum's table knows the code (older codes may be missing)


def check_resident_id(value: str, *, today: dt.date | None = None) -> ResidentId:
    """A 18-character resident ID number, checked; a clear error naming what is wrong otherwise."""
    number = _SEPARATORS.sub("", value or "").upper()
    shown = number or "（空）"
    if len(number) != 18:
        raise InvalidInputError(f"身份证号码“{shown}”应为18位，实为{len(number)}位", code="id_number_length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidInputError(f"身份证号码“{shown}”只能由数字组成，最后一位可以是X", code="id_number_format")
    if number[:2] not in PROVINCES:
        raise InvalidInputError(
            f"身份证号码“{shown}”的前两位{number[:2]}不是有效的省级行政区划代码", code="id_number_region"
        )
    birth = _birth_date(number)
    if birth is None or not dt.date(1900, 1, 1) <= birth <= (today or dt.date.today()):
        raise InvalidInputError(f"身份证号码“{shown}”中的出生日期{number[6:14]}无效", code="id_number_birth_date")
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise InvalidInputError(f"身份证号码“{shown}”校验位错误（按前17位应为{expected}）", code="id_number_checksum")
    return ResidentId(number, birth, int(number[16]) % 2 == 1, number[:6], _region_name(number[:6]))


def check_credit_code(value: str) -> str:
    """A unified social credit code, checked and upper-cased."""
    code = _SEPARATORS.sub("", value or "").upper()
    shown = code or "（空）"
    if len(code) != 18:
        raise InvalidInputError(f"统一社会信用代码“{shown}”应为18位，实为{len(code)}位", code="credit_code_length")
    bad = sorted({character for character in code if character not in CREDIT_CODE_ALPHABET})
    if bad:
        letters = "、".join(bad)
        message = f"统一社会信用代码“{shown}”含有不允许的字符{letters}（不使用I、O、Z、S、V）"
        raise InvalidInputError(message, code="credit_code_format")
    if not code[2:8].isdigit():
        raise InvalidInputError(f"统一社会信用代码“{shown}”第3至8位应为行政区划代码", code="credit_code_region")
    expected = uscc.calc_check_digit(code)
    if code[17] != expected:
        raise InvalidInputError(f"统一社会信用代码“{shown}”校验位错误（应为{expected}）", code="credit_code_checksum")
    return code


def check_mobile(value: str) -> str:
    """An 11-digit mainland mobile number, without prefix or separators."""
    digits = _SEPARATORS.sub("", value or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.fullmatch(digits):
        raise InvalidInputError(
            f"手机号码“{value.strip() or '（空）'}”格式不正确（应为1开头的11位数字）", code="mobile_format"
        )
    return digits


def mask_id_number(number: str | None) -> str | None:
    """3702**********1234: the province and city and the last four characters stay."""
    if not number:
        return number
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def _birth_date(number: str) -> dt.date | None:
    try:
        return ric.get_birth_date(number)
    except InvalidComponent:
        return None


@functools.lru_cache(maxsize=4096)
def _region_name(region_code: str) -> str | None:
    """The region's name from python-stdnum's table — a slow lookup, and an import repeats a few hundred codes."""
    try:
        place = ric.get_birth_place(region_code + "19000101" + "0000")
    except InvalidComponent:
        return None
    return f"{place.get('province', '')}{place.get('county', '')}" or None
