"""What each kind of registry object records, as data: its fields (Chinese label, type, choices, required), its
shape on the map, and its natural key for duplicates. Forms, imports, exports, pages and the service all read
these descriptors, so a field is declared once.

Classifications are the national ones where there is one: industries by the 门类 of GB/T 4754-2017, facilities
by the 大类 of the 数字城管 component classification (GB/T 30428.2) with the 小类 a street office's list keeps.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from civicgrid import timesource
from civicgrid.db import MAX_INTEGER
from civicgrid.errors import InvalidInputError
from civicgrid.registry.identifiers import check_credit_code
from civicgrid.registry.models import (
    Building,
    Enterprise,
    Estate,
    Facility,
    House,
    Parcel,
    PlacedObject,
    River,
    StandardAddress,
)
from civicgrid.text import checked_list, checked_text


class FieldType(StrEnum):
    TEXT = "text"
    INT = "int"
    NUMBER = "number"  # non-negative decimal
    YEAR = "year"
    DATE = "date"
    CHOICE = "choice"
    CREDIT_CODE = "credit_code"
    REF = "ref"  # another registry object, by id or by name
    DEPARTMENT = "department"  # by code or name


class Shape(StrEnum):
    POINT = "point"
    AREA = "area"  # a point is accepted too
    LINE = "line"


@dataclass(frozen=True)
class Field:
    name: str  # the model's column
    label: str  # Chinese, also the import column header
    type: FieldType = FieldType.TEXT
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (stored value, label)
    max_length: int = 200  # of a text; of each item of a list (tags)
    max_items: int = 1  # of a list (tags)
    ref: str = ""  # kind key for REF
    note: str = ""  # shown in the template's header comment
    clean: Callable[[str], str] | None = None  # a TEXT field's own format: checked and put in its standard form

    def choice_labels(self) -> tuple[str, ...]:
        return tuple(label for _, label in self.choices)

    def label_of(self, value: Any) -> str:
        return next((label for stored, label in self.choices if stored == value), str(value))


@dataclass(frozen=True)
class Kind:
    key: str  # object type in the history and the URLs
    label: str  # 小区
    model: type[PlacedObject]
    fields: tuple[Field, ...]  # besides name, address and tags, which every kind has
    shape: Shape
    natural_key: Callable[[Mapping[str, Any]], str | None]
    key_label: str  # what the natural key is called in a duplicate message
    tag_choices: tuple[str, ...] = ()
    derived_name: Callable[[Mapping[str, Any]], str] | None = None  # name and address composed from the fields

    def field(self, name: str) -> Field:
        found = next((f for f in self.all_fields if f.name == name), None)
        if found is None:
            raise InvalidInputError(f"{self.label}没有字段“{name}”", code="unknown_field")
        return found

    @property
    def all_fields(self) -> tuple[Field, ...]:
        if self.derived_name is not None:
            return (*self.fields, TAGS)
        return (NAME, ADDRESS, *self.fields, TAGS)


def _one_of(name: str, label: str, *labels: str) -> Field:
    """A choice whose stored value is its Chinese label."""
    return Field(name, label, FieldType.CHOICE, choices=tuple((text, text) for text in labels))


TAG_LENGTH = 20  # one tag (独居老人, 安全生产重点): a word, never a text
MAX_TAGS = 20
MAX_NUMBER = 1e12  # an area, a length, a tax in 万元: far above any real one, far below what a float loses digits at

NAME = Field("name", "名称", required=True)
ADDRESS = Field("address", "地址")
TAGS = Field("tags", "标签", max_length=TAG_LENGTH, max_items=MAX_TAGS, note="多个用顿号分隔")

# GB/T 4754-2017 国民经济行业分类, 门类
INDUSTRIES = (
    ("A", "农、林、牧、渔业"),
    ("B", "采矿业"),
    ("C", "制造业"),
    ("D", "电力、热力、燃气及水生产和供应业"),
    ("E", "建筑业"),
    ("F", "批发和零售业"),
    ("G", "交通运输、仓储和邮政业"),
    ("H", "住宿和餐饮业"),
    ("I", "信息传输、软件和信息技术服务业"),
    ("J", "金融业"),
    ("K", "房地产业"),
    ("L", "租赁和商务服务业"),
    ("M", "科学研究和技术服务业"),
    ("N", "水利、环境和公共设施管理业"),
    ("O", "居民服务、修理和其他服务业"),
    ("P", "教育"),
    ("Q", "卫生和社会工作"),
    ("R", "文化、体育和娱乐业"),
    ("S", "公共管理、社会保障和社会组织"),
    ("T", "国际组织"),
)

# 数字城管 components: 大类 (GB/T 30428.2) → the 小类 this platform ships; the code is 大类 + 小类, two digits each
FACILITY_GROUPS = {
    "01": "公用设施",
    "02": "道路交通",
    "03": "市容环境",
    "04": "园林绿化",
    "05": "房屋土地",
    "06": "其他设施",
}
FACILITY_CLASSES = (
    ("0101", "上水井盖"),
    ("0102", "污水井盖"),
    ("0103", "雨水井盖"),
    ("0104", "雨水箅子"),
    ("0105", "电力井盖"),
    ("0106", "路灯井盖"),
    ("0107", "通信井盖"),
    ("0110", "热力井盖"),
    ("0111", "燃气井盖"),
    ("0114", "消火栓"),
    ("0120", "路灯"),
    ("0125", "监控电子眼"),
    ("0201", "交通标志牌"),
    ("0203", "交通信号灯"),
    ("0205", "护栏"),
    ("0210", "公交站亭"),
    ("0212", "停车场"),
    ("0301", "公共厕所"),
    ("0302", "垃圾间（楼）"),
    ("0303", "垃圾箱"),
    ("0305", "智能回收箱"),
    ("0310", "广告牌匾"),
    ("0401", "古树名木"),
    ("0402", "行道树"),
    ("0405", "绿地"),
    ("0501", "宣传栏"),
    ("0601", "其他设施"),
)

# --- 标准地址: each part in its standard form ------------------------------------------------------------------

ROAD_ENDINGS = ("大道", "大街", "路", "街", "巷", "弄", "胡同", "里", "道", "线", "村", "屯", "组", "坊")


def _folded(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def clean_road(text: str) -> str:
    road = _folded(text)
    if not (2 <= len(road) <= 40 and road.endswith(ROAD_ENDINGS) and re.search(r"[\u4e00-\u9fff]", road)):
        raise InvalidInputError(f"路（街、巷）名“{text}”应以路、街、巷、道、弄等结尾，如 泰和路", code="road_format")
    return road


def clean_door_no(text: str) -> str:
    number = _folded(text).replace("#", "").removesuffix("号")
    if not re.fullmatch(r"\d{1,5}(-\d{1,4})?", number):
        raise InvalidInputError(f"门牌号“{text}”应为数字，如 12 或 12-1", code="door_no_format")
    return f"{number}号"


def clean_building(text: str) -> str:
    value = _folded(text).upper()
    numbered = re.fullmatch(r"(\d{1,3})(号楼|号|栋|幢)?", value)
    if numbered:
        return f"{numbered.group(1)}号楼"
    lettered = re.fullmatch(r"([A-Z])座?", value)
    if lettered:
        return f"{lettered.group(1)}座"
    raise InvalidInputError(f"楼栋号“{text}”应为数字或字母，如 3、3号楼、A座", code="building_format")


def clean_entrance(text: str) -> str:
    found = re.fullmatch(r"(\d{1,2})(单元)?", _folded(text))
    if not found:
        raise InvalidInputError(f"单元“{text}”应为数字，如 2 或 2单元", code="entrance_format")
    return f"{found.group(1)}单元"


def clean_room(text: str) -> str:
    found = re.fullmatch(r"(\d{1,5})(室|号|户)?", _folded(text))
    if not found:
        raise InvalidInputError(f"室号“{text}”应为数字，如 301", code="room_format")
    return f"{found.group(1)}室"


def standard_address(values: Mapping[str, Any]) -> str:
    """泰和路12号3号楼2单元301室: the parts, already in their standard forms, in order."""
    return "".join(str(values.get(name) or "") for name in ("road", "door_no", "building", "entrance", "room"))


ENTERPRISE_TAGS = ("高企培育", "专精特新", "规上", "重点企业", "安全生产重点", "消防重点单位")

ADDRESS_KIND = Kind(
    key="address",
    label="标准地址",
    model=StandardAddress,
    fields=(
        Field("road", "路（街、巷）名", required=True, max_length=40, clean=clean_road, note="如 泰和路"),
        Field("door_no", "门牌号", required=True, max_length=16, clean=clean_door_no, note="如 12 或 12-1"),
        Field("building", "楼栋号", max_length=16, clean=clean_building, note="如 3、3号楼、A座"),
        Field("entrance", "单元", max_length=8, clean=clean_entrance, note="如 2"),
        Field("room", "室号", max_length=16, clean=clean_room, note="如 301"),
    ),
    shape=Shape.POINT,
    natural_key=lambda values: _address_key(standard_address(values)),
    key_label="地址",
    tag_choices=("门楼牌缺失", "门楼牌损坏"),
    derived_name=standard_address,
)

ESTATE = Kind(
    key="estate",
    label="小区",
    model=Estate,
    fields=(
        Field("property_company", "物业服务企业"),
        Field("built_year", "建成年份", FieldType.YEAR),
    ),
    shape=Shape.AREA,
    natural_key=lambda values: _address_key(values.get("address")),
    key_label="地址",
    tag_choices=("老旧小区", "无物业小区", "开放式小区"),
)

BUILDING = Kind(
    key="building",
    label="楼宇",
    model=Building,
    fields=(
        Field("estate_id", "所属小区", FieldType.REF, ref="estate", note="小区名称或编号"),
        _one_of("use", "楼宇类型", "住宅楼", "商务楼宇", "厂房", "商业", "公共建筑", "其他"),
        Field("floors", "层数", FieldType.INT),
    ),
    shape=Shape.AREA,
    natural_key=lambda values: _address_key(values.get("address")),
    key_label="地址",
    tag_choices=("商务楼宇", "特色楼宇", "高层建筑"),
)

HOUSE = Kind(
    key="house",
    label="房屋",
    model=House,
    fields=(
        Field("building_id", "所属楼宇", FieldType.REF, ref="building", note="楼宇名称或编号"),
        Field("room", "单元门牌", max_length=40, note="如 2单元301"),
        _one_of("use", "房屋用途", "住宅", "商业", "办公", "生产", "仓储", "其他"),
        Field("area_m2", "建筑面积（平方米）", FieldType.NUMBER),
        _one_of("occupancy", "使用状况", "自住", "出租", "空置", "其他"),
        Field("owner_name", "产权人", max_length=100),
    ),
    shape=Shape.POINT,
    natural_key=lambda values: _address_key(_house_address(values)),
    key_label="地址",
    tag_choices=("出租房屋", "群租房", "危房"),
)

ENTERPRISE = Kind(
    key="enterprise",
    label="单位/企业",
    model=Enterprise,
    fields=(
        Field("credit_code", "统一社会信用代码", FieldType.CREDIT_CODE, max_length=18),
        _one_of("kind", "单位类型", "企业", "个体工商户", "机关事业单位", "社会组织"),
        Field("industry", "行业门类", FieldType.CHOICE, choices=INDUSTRIES),
        _one_of("scale", "规模", "规上", "规下"),
        Field("employees", "从业人数", FieldType.INT),
        Field("annual_tax", "上年度税收（万元）", FieldType.NUMBER),
        Field("land_mu", "用地面积（亩）", FieldType.NUMBER),
        Field("building_id", "所在楼宇", FieldType.REF, ref="building", note="楼宇名称或编号"),
        Field("established_on", "成立日期", FieldType.DATE),
    ),
    shape=Shape.POINT,
    natural_key=lambda values: values.get("credit_code") or None,
    key_label="统一社会信用代码",
    tag_choices=ENTERPRISE_TAGS,
)

PARCEL = Kind(
    key="parcel",
    label="地块",
    model=Parcel,
    fields=(
        Field("parcel_no", "地块编号", max_length=40),
        _one_of("use", "用地性质", "工业", "商业", "住宅", "公共服务", "农用地", "其他"),
        Field("area_mu", "面积（亩）", FieldType.NUMBER, note="不填则按范围计算"),
        _one_of("status", "利用状态", "在用", "在建", "闲置", "低效", "盘活", "储备"),
    ),
    shape=Shape.AREA,
    natural_key=lambda values: _plain_key(values.get("parcel_no")),
    key_label="地块编号",
)

RIVER = Kind(
    key="river",
    label="河道",
    model=River,
    fields=(
        _one_of("level", "河道等级", "市级", "区级", "街道级", "村级"),
        Field("length_km", "长度（公里）", FieldType.NUMBER, note="不填则按河道线计算"),
        Field("chief_name", "河长", max_length=50),
        Field("chief_title", "河长职务", max_length=100),
    ),
    shape=Shape.LINE,
    natural_key=lambda values: _plain_key(values.get("name")),
    key_label="河道名称",
)

FACILITY = Kind(
    key="facility",
    label="部件/设施",
    model=Facility,
    fields=(
        Field("class_code", "部件类别", FieldType.CHOICE, required=True, choices=FACILITY_CLASSES),
        Field("code", "部件标识码", max_length=16, note="16位，不填自动编码"),
        Field("owner_department_id", "权属部门", FieldType.DEPARTMENT, note="部门代码或名称"),
        _one_of("condition", "状况", "完好", "破损", "丢失", "废弃"),
    ),
    shape=Shape.POINT,
    natural_key=lambda values: values.get("code") or None,
    key_label="部件标识码",
)

KINDS: dict[str, Kind] = {
    kind.key: kind for kind in (ADDRESS_KIND, ESTATE, BUILDING, HOUSE, ENTERPRISE, PARCEL, RIVER, FACILITY)
}


def kind_of(key: str) -> Kind:
    kind = KINDS.get(key)
    if kind is None:
        raise InvalidInputError(f"未知的登记类别“{key}”", code="unknown_kind")
    return kind


# --- values ----------------------------------------------------------------------------------------------------


def parse_value(field: Field, raw: Any) -> Any:
    """A form, API or spreadsheet value as the column stores it (None when blank); a bad one is refused in Chinese
    naming the field. REF and DEPARTMENT values are resolved by the service (they need the database)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if field.required:
            raise InvalidInputError(f"请填写{field.label}", code=f"{field.name}_required")
        return [] if field.name == "tags" else None
    if field.name == "tags":
        return parse_tags(raw, field)
    value = _parser(field.type)(field, raw)
    return field.clean(value) if field.clean is not None else value


def parse_tags(raw: Any, field: Field = TAGS) -> list[str]:
    """Tags given as a list, or as one text separated by 、 , ; or spaces: each a short word, at most
    ``field.max_items`` of them."""
    if isinstance(raw, list | tuple):
        parts: Any = raw
    else:
        text = checked_text(raw, field.max_length * field.max_items, field.label, field.name)
        parts = re.split(r"[、,，;；\s]+", text)
    return checked_list(parts, count=field.max_items, length=field.max_length, what=field.label, field=field.name)


def _text(field: Field, raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, str | int | float):
        raise InvalidInputError(f"{field.label}应为文字", code=f"{field.name}_not_text")
    return checked_text(raw, field.max_length, field.label, field.name)


def _number(field: Field, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidInputError(f"{field.label}应为数字", code=f"{field.name}_not_a_number")
    try:
        value = float(checked_text(raw, 40, field.label, field.name).replace(",", ""))
    except (ValueError, OverflowError) as error:
        raise InvalidInputError(f"{field.label}“{raw}”不是数字", code=f"{field.name}_not_a_number") from error
    if not value >= 0:
        raise InvalidInputError(f"{field.label}不能为负数", code=f"{field.name}_negative")
    if value > MAX_NUMBER:
        raise InvalidInputError(f"{field.label}过大（最多{MAX_NUMBER:.0f}）", code=f"{field.name}_too_large")
    return value


def _integer(field: Field, raw: Any) -> int:
    value = _number(field, raw)
    if not value.is_integer():
        raise InvalidInputError(f"{field.label}应为整数", code=f"{field.name}_not_an_integer")
    if value > MAX_INTEGER:
        raise InvalidInputError(f"{field.label}过大（最多{MAX_INTEGER}）", code=f"{field.name}_too_large")
    return int(value)


def _year(field: Field, raw: Any) -> int:
    year = _integer(field, raw)
    if not 1900 <= year <= timesource.now().year:
        raise InvalidInputError(f"{field.label}“{year}”不在1900年至今之间", code=f"{field.name}_out_of_range")
    return year


def _date(field: Field, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        value = raw.date()
    elif isinstance(raw, dt.date):
        value = raw
    else:
        text = checked_text(raw, 40, field.label, field.name).replace("/", "-").replace(".", "-")
        text = re.sub(r"(\d+)年(\d+)月(\d+)日?", r"\1-\2-\3", text)
        try:
            year, month, day = (int(part) for part in text.split("-"))
            value = dt.date(year, month, day)
        except ValueError as error:
            message = f"{field.label}“{raw}”不是有效日期（如 2024-03-01）"
            raise InvalidInputError(message, code=f"{field.name}_not_a_date") from error
    if value > timesource.now().date():
        raise InvalidInputError(f"{field.label}不能晚于今天", code=f"{field.name}_in_future")
    return value


def _choice(field: Field, raw: Any) -> str:
    text = checked_text(raw, 100, field.label, field.name)
    for stored, label in field.choices:
        if text in (stored, label, f"{stored} {label}", f"{stored}{label}"):
            return stored
    allowed = "、".join(field.choice_labels())
    raise InvalidInputError(f"{field.label}“{text}”无法识别，应为：{allowed}", code=f"{field.name}_unknown")


def _credit_code(field: Field, raw: Any) -> str:
    return check_credit_code(checked_text(raw, 40, field.label, field.name))


def _reference(field: Field, raw: Any) -> Any:
    """Another record by its number (an int within the id column) or a name; resolved by the service."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= MAX_INTEGER:
            raise InvalidInputError(f"{field.label}：没有编号为{raw}的记录", code="reference_not_found")
        return raw
    return checked_text(raw, 200, field.label, field.name)


def _parser(field_type: FieldType) -> Callable[[Field, Any], Any]:
    return _PARSERS[field_type]


_PARSERS: dict[FieldType, Callable[[Field, Any], Any]] = {
    FieldType.TEXT: _text,
    FieldType.INT: _integer,
    FieldType.NUMBER: _number,
    FieldType.YEAR: _year,
    FieldType.DATE: _date,
    FieldType.CHOICE: _choice,
    FieldType.CREDIT_CODE: _credit_code,
    FieldType.REF: _reference,
    FieldType.DEPARTMENT: _reference,
}


# --- natural keys ----------------------------------------------------------------------------------------------

_ADDRESS_NOISE = re.compile(r"[\s\-—–·.,，。、()（）\[\]【】]+")


def normalise_address(value: str) -> str:
    """One spelling per address: full-width forms folded (ＮＦＫＣ), spaces and punctuation dropped, ``#`` read as
    号 (泰和路12# = 泰和路12号)."""
    text = unicodedata.normalize("NFKC", value).replace("#", "号")
    return _ADDRESS_NOISE.sub("", text).lower()


def _address_key(value: Any) -> str | None:
    return f"addr:{normalise_address(str(value))}" if value and normalise_address(str(value)) else None


def _plain_key(value: Any) -> str | None:
    return normalise_address(str(value)) or None if value else None


def _house_address(values: Mapping[str, Any]) -> str | None:
    address, room = values.get("address") or "", values.get("room") or ""
    if not address:
        return None
    return address if normalise_address(room) in normalise_address(address) else f"{address}{room}"
