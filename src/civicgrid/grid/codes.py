"""Grid levels and codes.

Administrative levels use the NBS 统计用区划代码 (12 digits, e.g. 370215002009 = 即墨区潮海街道泰山社区). Internally a
code is kept in its *significant* form — only the digits its level defines: 37 (省), 3702 (市), 370215 (区县),
370215002 (街道/乡镇), 370215002009 (社区/村). Unit grids (网格单元) add a configurable number of digits (3 by
default) to their parent's 12-digit padded code — 370215002009001 under a community (the 15-digit 6+3+3+3 style),
370215002000001 directly under a street — so a unit code is always longer than 12 digits and never collides with an
administrative one; units may nest.

Invariants the grid relies on (checked here, in the service and by ``grid check``):
- only administrative codes start a tree; a unit grid always has a parent;
- a child's code extends its parent's code, and its parent is the longest existing code it extends;
- siblings' codes have the same length.
Together with unique codes they make "the subtree of X" equal to "codes starting with X's code", which is how
scopes are queried.
"""

from __future__ import annotations

from enum import StrEnum

from civicgrid.errors import InvalidInputError


class GridLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    UNIT = "unit"

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        return _RANK[self]


LEVEL_LABELS: dict[GridLevel, str] = {
    GridLevel.PROVINCE: "省",
    GridLevel.CITY: "市",
    GridLevel.DISTRICT: "区县",
    GridLevel.STREET: "街道/乡镇",
    GridLevel.COMMUNITY: "社区/村",
    GridLevel.UNIT: "网格单元",
}

_RANK = {level: index for index, level in enumerate(GridLevel)}

ADMIN_CODE_LENGTH: dict[GridLevel, int] = {
    GridLevel.PROVINCE: 2,
    GridLevel.CITY: 4,
    GridLevel.DISTRICT: 6,
    GridLevel.STREET: 9,
    GridLevel.COMMUNITY: 12,
}
_LEVEL_BY_LENGTH = {length: level for level, length in ADMIN_CODE_LENGTH.items()}
NBS_CODE_LENGTH = 12


def parse_level(value: str) -> GridLevel:
    """Accept the English name or the Chinese label (区县, 街道, 社区, 村, 网格 …)."""
    text = value.strip().lower()
    for level in GridLevel:
        if text == level.value:
            return level
    aliases = {
        "省": GridLevel.PROVINCE,
        "市": GridLevel.CITY,
        "区": GridLevel.DISTRICT,
        "县": GridLevel.DISTRICT,
        "区县": GridLevel.DISTRICT,
        "街道": GridLevel.STREET,
        "乡镇": GridLevel.STREET,
        "镇": GridLevel.STREET,
        "街道/乡镇": GridLevel.STREET,
        "社区": GridLevel.COMMUNITY,
        "村": GridLevel.COMMUNITY,
        "村居": GridLevel.COMMUNITY,
        "社区/村": GridLevel.COMMUNITY,
        "网格": GridLevel.UNIT,
        "单元": GridLevel.UNIT,
        "网格单元": GridLevel.UNIT,
    }
    if text in aliases:
        return aliases[text]
    accepted = "、".join(level.value for level in GridLevel)
    raise InvalidInputError(
        f"无法识别的网格层级“{value}”，可用：{accepted}（或 区县/街道/社区/村/网格）",
        code="unknown_level",
        detail={"value": value},
    )


_SEGMENTS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))  # province, city, county, town, village


def significant_admin_code(raw: str) -> tuple[str, GridLevel]:
    """Normalise an NBS division code to its significant form and level.

    Accepts the significant form (2/4/6/9/12 digits) or the 12-digit padded form (370215000000 → 370215).
    Every segment up to the code's level must be non-zero (370215000009 is not a community of 370215).
    """
    code = raw.strip()
    if not code or not code.isdigit() or not code.isascii():
        raise InvalidInputError(f"区划代码“{raw}”只能由数字组成", code="invalid_code", detail={"code": raw})
    if len(code) == NBS_CODE_LENGTH:
        code = _strip_padding(code)
    level = _LEVEL_BY_LENGTH.get(len(code))
    if level is None:
        raise InvalidInputError(
            f"区划代码“{raw}”长度为{len(raw.strip())}位：统计用区划代码应为2/4/6/9/12位（或补零到12位）",
            code="invalid_code_length",
            detail={"code": raw},
        )
    for start, end in _SEGMENTS:
        if end > len(code):
            break
        if set(code[start:end]) == {"0"}:
            raise InvalidInputError(
                f"区划代码“{raw}”第{start + 1}–{end}位全为0，不是有效的{level.label}代码",
                code="invalid_code",
                detail={"code": raw},
            )
    return code, level


def _strip_padding(code: str) -> str:
    """Drop the all-zero trailing segments of a padded 12-digit code."""
    length = NBS_CODE_LENGTH
    for start, end in reversed(_SEGMENTS[1:]):
        if set(code[start:end]) != {"0"}:
            break
        length = start
    return code[:length]


def normalise_code(raw: str) -> str:
    """Any grid code as people type it: an NBS code (significant or padded) or a unit-grid code."""
    code = raw.strip()
    if code.isdigit() and code.isascii() and len(code) <= NBS_CODE_LENGTH:
        return significant_admin_code(code)[0]
    if not code or not code.isdigit() or not code.isascii():
        raise InvalidInputError(f"网格代码“{raw}”只能由数字组成", code="invalid_code", detail={"code": raw})
    return code


def nbs_code(code: str, level: GridLevel) -> str | None:
    """The 12-digit padded NBS form of an administrative code, None for unit grids."""
    if level is GridLevel.UNIT:
        return None
    return code.ljust(NBS_CODE_LENGTH, "0")


def unit_code_base(parent_code: str, parent_level: GridLevel) -> str:
    """What a unit grid's code starts with: its parent's 12-digit padded code for an administrative parent (so a
    unit under a street, 370215002000001, can never be mistaken for a community, 370215002001), else the
    parent unit's own code."""
    return parent_code if parent_level is GridLevel.UNIT else parent_code.ljust(NBS_CODE_LENGTH, "0")


def validate_node_code(
    code: str,
    level: GridLevel,
    *,
    parent_code: str | None,
    parent_level: GridLevel | None,
    unit_code_digits: int,
) -> str:
    """Check a node's code against its level and parent; return the normalised code.

    Only administrative codes may start a tree: a unit grid always hangs under a node.
    """
    if level is not GridLevel.UNIT:
        normalised, code_level = significant_admin_code(code)
        if code_level is not level:
            raise InvalidInputError(
                f"代码“{code}”是{code_level.label}级代码，与层级“{level.label}”不符",
                code="code_level_mismatch",
                detail={"code": code, "level": level.value, "code_level": code_level.value},
            )
    else:
        normalised = code.strip()
        if not normalised.isdigit() or not normalised.isascii():
            raise InvalidInputError(f"网格代码“{code}”只能由数字组成", code="invalid_code", detail={"code": code})
    if parent_code is None or parent_level is None:
        if level is GridLevel.UNIT:
            raise InvalidInputError(
                f"网格单元“{normalised}”必须挂在街道、社区或上级网格之下", code="unit_without_parent"
            )
        return normalised
    if level.rank < parent_level.rank or (level is parent_level and level is not GridLevel.UNIT):
        raise InvalidInputError(
            f"层级“{level.label}”不能挂在“{parent_level.label}”之下：下级必须比上级更细",
            code="level_not_below_parent",
            detail={"level": level.value, "parent_level": parent_level.value},
        )
    base = unit_code_base(parent_code, parent_level) if level is GridLevel.UNIT else parent_code
    if not normalised.startswith(base) or len(normalised) <= len(base):
        raise InvalidInputError(
            f"代码“{normalised}”没有延续上级代码“{base}”：下级代码必须以上级代码开头",
            code="code_not_extending_parent",
            detail={"code": normalised, "parent_code": parent_code},
        )
    if level is GridLevel.UNIT:
        expected = len(base) + unit_code_digits
        if len(normalised) != expected:
            raise InvalidInputError(
                f"网格单元代码“{normalised}”应为{expected}位（上级{base} + {unit_code_digits}位序号）",
                code="invalid_code_length",
                detail={"code": normalised, "expected_length": expected},
            )
        if set(normalised[len(base) :]) == {"0"}:
            raise InvalidInputError(
                f"网格单元代码“{normalised}”的序号不能全为0", code="invalid_code", detail={"code": normalised}
            )
    return normalised


def unit_code(parent_code: str, parent_level: GridLevel, number: int, unit_code_digits: int) -> str:
    if not 1 <= number < 10**unit_code_digits:
        raise InvalidInputError(
            f"网格序号{number}超出{unit_code_digits}位代码的范围（1–{10**unit_code_digits - 1}）",
            code="unit_number_out_of_range",
        )
    return f"{unit_code_base(parent_code, parent_level)}{number:0{unit_code_digits}d}"


def implied_parent_code(code: str, level: GridLevel, unit_code_digits: int) -> str | None:
    """The parent code a code implies: the next administrative level up, or (for a unit) the code without its
    own digits, unpadded when that is an administrative code."""
    if level is GridLevel.UNIT:
        base = code[:-unit_code_digits]
        if len(base) == NBS_CODE_LENGTH:
            return _strip_padding(base)
        return base or None
    upper = [length for length in ADMIN_CODE_LENGTH.values() if length < len(code)]
    return code[: max(upper)] if upper else None


def district_code_of(code: str) -> str | None:
    """The 6-digit county-level code a node belongs to (the distribution key for large tables)."""
    return code[:6] if len(code) >= 6 else None
