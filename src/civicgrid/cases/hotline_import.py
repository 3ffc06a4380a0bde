"""Bulk import of hotline and message-board exports (CSV or Excel) into cases, resumable after a crash.

A hotline system (12345 / 8890 / 96685, a 问政 message board, a referral list from above) exports its calls as a
CSV or ``.xlsx`` file. A ``ColumnMapping`` says which column holds what; every good row becomes a case through
``intake()`` — so numbering, placement on the grid, the clock and idempotency are the case engine's, not this
module's — and every bad row is recorded with its row number (as a spreadsheet shows it: header = row 1), a
Chinese reason and a stable code, while the good rows still go in.

Reading
    ``tables.read_table``: CSV (UTF-8, BOM, GB18030) or ``.xlsx`` (the first sheet unless ``sheet`` is mapped), with
    the row numbers a spreadsheet shows.

Cleaning
    Text loses Excel's ``_x000D_`` artefacts, scraped HTML whitespace (tabs, runs of blanks, empty lines) and
    ideographic spaces (U+3000); a title longer than ``MAX_TITLE`` is cut to fit and ends in "…", with a
    warning rather than a refusal. Times may be Excel date cells or text such as '2019/2/28 11:25:05',
    '2019-02-28 11:25:05', '2019-02-28T11:25:05+08:00', '2019年2月28日 11:25' or '20190228112505' (plus an
    optional ``time_format`` for strptime, tried first); without an explicit offset they are read as Beijing time
    (``settings.timezone``) and stored in UTC. Coordinates need a declared ``crs`` (fixed for the file); (0, 0) is
    read as "no coordinates", as many exports write it.

Rejected rows
    Empty content, a missing, unreadable, implausibly old (before ``MIN_YEAR``) or future time, a masked or
    malformed phone number, incomplete, non-numeric or out-of-range coordinates, an over-long source id, and
    whatever ``intake()`` itself refuses (unknown category, over-long description …). Each goes to
    ``ImportRowError``; nothing about it is half-written (every row is taken in inside its own savepoint).

Resuming and repeating
    An ``ImportRun`` keyed by (sha256 of the file's bytes, channel, sheet) records the progress. Rows are processed in
    batches of ``batch_size``; each batch runs in its own transaction, which also advances ``ImportRun.next_row``
    and its counters, so a crash loses at most the batch in flight and running the same file again continues
    from ``next_row``. Re-processed rows can not make duplicates anyway: cases are unique on
    (channel, source id). When the mapping has no source-id column (or a row's cell is empty), the source id is
    derived from the row's content: ``"row-sha1:" + sha1`` of the JSON list of the normalised mapped values
    (title, description, reported time in UTC, reporter, phone, address, lon, lat, category) — so the same call
    exported twice is one case, and two rows identical in all of these are taken to be the same call. Running a
    finished file again creates nothing and reports "already imported" with the stored counts. A resumed run
    must use the mapping it was started with (stored on the run). Warnings (truncated titles) are reported by the
    call that produced them and are not stored.

Cost
    Per row, only what ``intake()`` does (a handful of statements); duplicates of cases that already exist are
    found with one query per batch and skipped without calling ``intake()``. See bench/intake for numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from civicgrid import audit, timesource
from civicgrid.cases.intake import (
    EARLIEST_YEAR,
    HOTLINES,
    MAX_TITLE,
    IntakeRequest,
    intake,
    require_channel,
)
from civicgrid.cases.models import Case, Channel, ImportRowError, ImportRun
from civicgrid.cases.taxonomy import leaf_category
from civicgrid.db import make_session_factory, transaction, utcnow
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, Problems
from civicgrid.geo.coords import parse_crs
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Permission
from civicgrid.settings import Settings, get_settings
from civicgrid.tables import Cell, Table, blank, read_table_bytes

IMPORT_CHANNELS = HOTLINES | {Channel.REFERRAL}
MIN_YEAR = EARLIEST_YEAR  # earlier "times" are Excel zero dates and the like; the calendar starts here
FUTURE_TOLERANCE = dt.timedelta(minutes=5)  # the same allowance as intake()
MAX_SOURCE_ID = 100
DERIVED_PREFIX = "row-sha1:"
RUNNING = "running"
FINISHED = "finished"

ActorLoader = Callable[[Session], Actor]
Progress = Callable[[int, int], None]  # (data rows processed so far, data rows in the file), after every batch

# ----------------------------------------------------------------------------------------------- the mapping

FIELD_LABELS: dict[str, str] = {
    "title": "标题",
    "description": "内容",
    "source_id": "来源编号",
    "reported_at": "反映时间",
    "reporter_name": "反映人",
    "reporter_phone": "联系电话",
    "address": "地址",
    "lon": "经度",
    "lat": "纬度",
    "crs": "坐标系",
    "category_code": "类别代码",
    "time_format": "时间格式",
    "sheet": "工作表",
}
# Fields naming a column of the file; the others (crs, time_format, sheet) are fixed values for the whole file.
COLUMN_FIELDS = (
    "title",
    "description",
    "source_id",
    "reported_at",
    "reporter_name",
    "reporter_phone",
    "address",
    "lon",
    "lat",
    "category_code",
)
_KEY_ALIASES: dict[str, str] = {
    **{name: name for name in FIELD_LABELS},
    **{label: name for name, label in FIELD_LABELS.items()},
    "描述": "description",
    "详情": "description",
    "时间": "reported_at",
    "电话": "reporter_phone",
    "姓名": "reporter_name",
    "编号": "source_id",
    "类别": "category_code",
}
_SPEC_SEPARATORS = re.compile(r"[,，;；\n]")


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file holds what (column fields), plus fixed values for the whole file.

    ``crs`` (wgs84 | gcj02 | bd09, aliases accepted) is required when coordinates are mapped; ``time_format``
    is a strptime format tried before the built-in formats; ``sheet`` names the .xlsx sheet (default: the first).
    """

    title: str | None = None
    description: str | None = None
    source_id: str | None = None
    reported_at: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    address: str | None = None
    lon: str | None = None
    lat: str | None = None
    crs: str | None = None
    category_code: str | None = None
    time_format: str | None = None
    sheet: str | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(
                    f"映射项“{item.name}”的值应为文字", code="invalid_mapping", detail={"key": item.name}
                )
            cleaned = unicodedata.normalize("NFC", value).strip() if value is not None else None
            object.__setattr__(self, item.name, cleaned or None)
        if self.title is None and self.description is None:
            raise InvalidInputError(
                "列对应关系至少要指定标题（title）或内容（description）所在的列", code="mapping_without_content"
            )
        if (self.lon is None) != (self.lat is None):
            raise InvalidInputError("经度列（lon）和纬度列（lat）须同时指定", code="incomplete_coordinates_mapping")
        if self.lon is not None:
            object.__setattr__(self, "crs", parse_crs(self.crs).value)
        if self.time_format is not None and "%" not in self.time_format:
            raise InvalidInputError(
                f"时间格式“{self.time_format}”无效：应以 % 代号写出年月日时分秒，如 %Y/%m/%d %H:%M:%S",
                code="invalid_time_format",
            )

    def columns(self) -> dict[str, str]:
        """Field → column name, for the fields mapped to a column."""
        return {name: column for name in COLUMN_FIELDS if (column := getattr(self, name)) is not None}

    def to_dict(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def parse_mapping(spec: Mapping[str, str] | str) -> ColumnMapping:
    """A mapping from a dict or from text such as "title=留言主题,description=留言详情,reported_at=留言时间".

    Keys are the field names (or their Chinese labels: 标题, 内容, 反映时间 …); items in text are separated by
    commas, semicolons or new lines. Unknown or repeated keys are refused.
    """
    pairs: list[tuple[str, str]] = []
    if isinstance(spec, str):
        for item in _SPEC_SEPARATORS.split(spec):
            if not item.strip():
                continue
            key, sign, value = item.replace("＝", "=").partition("=")
            if not sign:
                raise InvalidInputError(
                    f"映射项“{item.strip()}”缺少“=”，应写作 字段=列名，如 title=留言主题", code="invalid_mapping"
                )
            pairs.append((key, value))
    else:
        pairs = [(str(key), value) for key, value in spec.items()]
    values: dict[str, str] = {}
    for raw_key, value in pairs:
        key = unicodedata.normalize("NFC", raw_key).strip()
        name = _KEY_ALIASES.get(key.lower(), _KEY_ALIASES.get(key))
        if name is None:
            known = "、".join(f"{name}（{label}）" for name, label in FIELD_LABELS.items())
            raise InvalidInputError(
                f"不认识的映射项“{key}”。可用的映射项：{known}",
                code="unknown_mapping_key",
                detail={"key": key, "known": list(FIELD_LABELS)},
            )
        if name in values:
            raise InvalidInputError(f"映射项“{FIELD_LABELS[name]}”（{name}）重复出现", code="duplicate_mapping_key")
        values[name] = value
    return ColumnMapping(**values)


# ----------------------------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class RejectedRow:
    row: int  # as a spreadsheet shows it: the header is row 1
    reason: str  # Chinese
    code: str


@dataclass
class HotlineImportResult:
    source: str
    channel: Channel
    run_id: int
    total_rows: int  # data rows in the file (fully empty rows not counted)
    created: int
    duplicates: int  # rows whose (channel, source id) already had a case, in the database or earlier in the file
    rejected: list[RejectedRow]
    warnings: list[str] = field(default_factory=list)  # from this call only
    already_imported: bool = False  # the file had been imported completely before: nothing was done
    resumed_from_row: int | None = None  # spreadsheet row this call continued from, when it resumed a run
    finished: bool = True

    def summary(self) -> str:
        text = (
            f"{self.source}（{self.channel.label}）：共{self.total_rows}行，新增案件{self.created}件，"
            f"重复{self.duplicates}行，拒绝{len(self.rejected)}行"
        )
        if self.already_imported:
            return text + "。该文件此前已导入完毕，本次未新增任何案件"
        if self.resumed_from_row is not None:
            text += f"（从第{self.resumed_from_row}行继续上次中断的导入）"
        if self.warnings:
            text += f"，提示{len(self.warnings)}条"
        return text + ("。导入完成" if self.finished else "。导入未完成")

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "channel": self.channel.value,
            "run_id": self.run_id,
            "total_rows": self.total_rows,
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": [asdict(row) for row in self.rejected],
            "warnings": self.warnings,
            "already_imported": self.already_imported,
            "resumed_from_row": self.resumed_from_row,
            "finished": self.finished,
            "summary": self.summary(),
        }


def _column_positions(table: Table, mapping: ColumnMapping, source: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name, column in mapping.columns().items():
        found = [i for i, header in enumerate(table.header) if header == column]
        if not found:
            missing.append(f"{FIELD_LABELS[name]}→“{column}”")
        elif len(found) > 1:
            raise InvalidInputError(
                f"{source} 的表头中“{column}”出现了{len(found)}次，无法确定{FIELD_LABELS[name]}取哪一列",
                code="ambiguous_column",
                detail={"column": column},
            )
        else:
            positions[name] = found[0]
    if missing:
        present = "、".join(f"“{h}”" for h in table.header if h)
        raise InvalidInputError(
            f"{source} 中找不到列：{'；'.join(missing)}。文件的列为：{present}",
            code="missing_column",
            detail={"missing": missing, "columns": list(table.header)},
        )
    return positions


# ----------------------------------------------------------------------------------------------- cleaning rows


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_block(value: str) -> str:
    """Multi-line text: Excel's _x000D_ gone, each line's whitespace collapsed (U+3000 included), empty lines
    dropped."""
    text = unicodedata.normalize("NFC", value).replace("_x000D_", "").replace("\r\n", "\n").replace("\r", "\n")
    lines = (" ".join(_CONTROL.sub(" ", line).split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def clean_line(value: str) -> str:
    """One-line text: every run of whitespace (new lines, tabs, U+3000) becomes one space."""
    text = unicodedata.normalize("NFC", value).replace("_x000D_", "")
    return " ".join(_CONTROL.sub(" ", text).split())


def _as_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "是" if cell else "否"
    if isinstance(cell, float):
        # Excel stores ids and phone numbers typed as numbers as floats: 13812345678.0 → "13812345678"
        return str(int(cell)) if cell.is_integer() and abs(cell) < 1e15 else f"{cell:.15g}"
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat(" ") if isinstance(cell, dt.datetime) else cell.isoformat()
    return str(cell)


_TIME_PATTERNS = (
    re.compile(
        r"(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:\s*T?\s*(?P<h>\d{1,2})\s*[:时点]\s*(?P<mi>\d{1,2})\s*分?"
        r"(?:\s*:?\s*(?P<s>\d{1,2})(?:\.(?P<frac>\d{1,9}))?\s*秒?)?)?"
        r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
    ),
    re.compile(r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:\s*T?\s*(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?"),
)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


class _RowError(InvalidInputError):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason, code=code)
        self.reason = reason


def parse_time(cell: Cell, zone: dt.tzinfo, time_format: str | None = None) -> dt.datetime:
    """An aware datetime (UTC) from an Excel date cell, an Excel serial number or text in a common format.

    Values without an offset are local time in ``zone``. Raises ``InvalidInputError`` (code ``invalid_time``).
    """
    try:
        return _parse_time(cell, zone, time_format)
    except _RowError as error:
        raise InvalidInputError(error.reason, code=error.code) from None


def _parse_time(cell: Cell, zone: dt.tzinfo, time_format: str | None) -> dt.datetime:
    if isinstance(cell, dt.datetime):
        moment = cell
    elif isinstance(cell, dt.date):
        moment = dt.datetime(cell.year, cell.month, cell.day)
    elif isinstance(cell, int | float) and not isinstance(cell, bool) and 1 <= cell < 2_958_466:
        # An Excel serial day number (a date cell without a date format): days since 1899-12-30.
        moment = _EXCEL_EPOCH + dt.timedelta(seconds=round(float(cell) * 86_400))
    else:
        moment = _parse_time_text(_as_text(cell), time_format)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


def _parse_time_text(value: str, time_format: str | None) -> dt.datetime:
    text = " ".join(unicodedata.normalize("NFKC", value).replace("_x000D_", "").split())
    if not text:
        raise _RowError("反映时间为空", "missing_time")
    if time_format is not None:
        try:
            return dt.datetime.strptime(text, time_format)
        except ValueError:
            pass  # fall back to the formats below
    for pattern in _TIME_PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        parts = match.groupdict()
        fraction = (parts.get("frac") or "").ljust(6, "0")[:6]
        try:
            moment = dt.datetime(
                int(parts["y"]),
                int(parts["mo"]),
                int(parts["d"]),
                int(parts["h"] or 0),
                int(parts["mi"] or 0),
                int(parts["s"] or 0),
                int(fraction or 0),
            )
        except ValueError:
            break  # looked like a time, but is not one (2019/13/45)
        offset = parts.get("tz")
        if offset:
            moment = moment.replace(tzinfo=dt.UTC if offset == "Z" else _offset(offset))
        return moment
    raise _RowError(f"无法识别的反映时间“{value.strip()}”", "invalid_time")


def _offset(text: str) -> dt.timezone:
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    return dt.timezone(dt.timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _number(cell: Cell, what: str) -> float | None:
    if cell is None or isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return float(cell)
    text = unicodedata.normalize("NFKC", _as_text(cell)).strip().rstrip("°")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise _RowError(f"{what}“{text}”不是数字", "invalid_coordinates") from None


@dataclass(frozen=True)
class _Context:
    mapping: ColumnMapping
    positions: dict[str, int]
    channel: Channel
    zone: ZoneInfo
    now: dt.datetime


@dataclass
class _Row:
    number: int
    request: IntakeRequest | None = None
    error: InvalidInputError | None = None
    warning: str | None = None
    category: str = ""  # as typed: checked with the taxonomy even on a row refused for other reasons

    @property
    def source_id(self) -> str:
        assert self.request is not None
        assert self.request.source_id is not None
        return self.request.source_id


def _prepare(number: int, cells: tuple[Cell, ...], context: _Context) -> _Row:
    problems = Problems()
    row = _prepare_row(number, cells, context, problems)
    try:
        problems.raise_any()
    except InvalidInputError as error:
        return _Row(number, error=error, category=row.category)
    return row


def _prepare_row(number: int, cells: tuple[Cell, ...], context: _Context, problems: Problems) -> _Row:
    """The row as an intake request; each problem of the row is kept in ``problems`` (the others still checked)."""

    def cell(name: str) -> Cell:
        position = context.positions.get(name)
        if position is None or position >= len(cells):
            return None
        return cells[position]

    def text(name: str) -> str:
        return clean_line(_as_text(cell(name)))

    title = text("title")
    description = clean_block(_as_text(cell("description")))
    if not title and not description:
        problems.add(_RowError("标题和内容均为空", "empty_content"))
    reported_at = None
    if "reported_at" in context.positions:
        reported_at = problems.check(partial(_reported_at, cell("reported_at"), context), None)
    phone = unicodedata.normalize("NFKC", text("reporter_phone"))
    if any(mark in phone for mark in "*×xX"):
        problems.add(
            _RowError(
                f"联系电话“{phone}”已打码或格式不正确；如导出文件中的号码均已打码，请不要映射联系电话列",
                "invalid_phone",
            )
        )
    nowhere: tuple[float | None, float | None] = (None, None)
    lon, lat = problems.check(partial(_coordinates, cell("lon"), cell("lat")), nowhere)
    category = text("category_code")
    name, address = text("reporter_name"), text("address")
    source_id = text("source_id")
    if len(source_id) > MAX_SOURCE_ID:
        problems.add(_RowError(f"来源编号超过{MAX_SOURCE_ID}个字", "source_id_too_long"))
    if not source_id:
        content = [title, description, reported_at.isoformat() if reported_at else "", name, phone, address]
        content += [repr(lon) if lon is not None else "", repr(lat) if lat is not None else "", category]
        digest = hashlib.sha1(json.dumps(content, ensure_ascii=False).encode(), usedforsecurity=False).hexdigest()
        source_id = DERIVED_PREFIX + digest
    warning = None
    if len(title) > MAX_TITLE:
        warning = f"第{number}行：标题有{len(title)}个字，超过{MAX_TITLE}字，已截断"
        title = title[: MAX_TITLE - 1] + "…"
    request = IntakeRequest(
        channel=context.channel,
        title=title,
        description=description,
        category_code=category or None,
        lon=lon,
        lat=lat,
        crs=context.mapping.crs if lon is not None else None,
        address=address or None,
        reporter_name=name or None,
        reporter_phone=phone or None,
        source_id=source_id,
        reported_at=reported_at,
    )
    return _Row(number, request=request, warning=warning, category=category)


def _reported_at(value: Cell, context: _Context) -> dt.datetime:
    if blank(value):
        raise _RowError("反映时间为空", "missing_time")
    moment = _parse_time(value, context.zone, context.mapping.time_format)
    local = moment.astimezone(context.zone)
    if local.year < MIN_YEAR:
        raise _RowError(f"反映时间{local:%Y-%m-%d %H:%M}早于{MIN_YEAR}年，疑为无效日期", "time_too_old")
    if moment > context.now + FUTURE_TOLERANCE:
        raise _RowError(f"反映时间{local:%Y-%m-%d %H:%M}晚于现在", "reported_in_future")
    return moment


def _coordinates(lon_cell: Cell, lat_cell: Cell) -> tuple[float | None, float | None]:
    lon, lat = _number(lon_cell, "经度"), _number(lat_cell, "纬度")
    if lon is None and lat is None:
        return None, None
    if lon is None or lat is None:
        raise _RowError("经纬度须同时填写", "incomplete_coordinates")
    if lon == 0 and lat == 0:
        return None, None  # exports write (0, 0) for "no coordinates"
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
        raise _RowError(f"经纬度超出范围（经度 {lon:g}，纬度 {lat:g}）", "invalid_coordinates")
    if 0 <= lon <= 90 and 70 <= lat <= 180:
        raise _RowError(f"经纬度疑似颠倒（经度 {lon:g}，纬度 {lat:g}）：经度应在前", "swapped_axes")
    return lon, lat


# ----------------------------------------------------------------------------------------------- importing


def import_hotline_file(
    engine_or_factory: Engine | sessionmaker[Session],
    actor_loader: ActorLoader,
    path: Path,
    *,
    channel: Channel,
    mapping: ColumnMapping,
    batch_size: int = 500,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> HotlineImportResult:
    """Import a hotline export; resumable, repeatable, one transaction per batch (see the module docstring).

    ``engine_or_factory``: an engine, or a session factory for writing (``make_session_factory(engine,
    write=True)``). ``actor_loader(session)`` returns who takes the cases in (the CLI gives the operator); it is
    called once, in the first transaction. Refusals of the whole file (unknown columns, a channel that is not a
    hotline, an actor without the right, a resumed run with another mapping) raise before anything is written.
    """
    settings = settings or get_settings()
    if channel not in IMPORT_CHANNELS:
        allowed = "、".join(c.label for c in Channel if c in IMPORT_CHANNELS)
        raise InvalidInputError(
            f"批量导入只适用于热线、网络留言和上级交办渠道（{allowed}），不适用于“{channel.label}”",
            code="channel_not_importable",
        )
    if batch_size < 1:
        raise InvalidInputError("每批行数须至少为1", code="invalid_batch_size")
    factory = engine_or_factory if isinstance(engine_or_factory, sessionmaker) else None
    if factory is None:
        assert isinstance(engine_or_factory, Engine)
        factory = make_session_factory(engine_or_factory, write=True)

    raw = path.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()
    table = read_table_bytes(path, raw, sheet=mapping.sheet)
    positions = _column_positions(table, mapping, path.name)
    if not table.rows:
        raise InvalidInputError(f"{path.name} 中没有数据行", code="empty_file")

    with transaction(factory) as session:
        actor = actor_loader(session)
        actor.require(Permission.CASE_INTAKE, "受理案件")
        require_channel(actor, channel)
        run, fresh = _start_run(session, actor, path, sha256, channel, mapping, len(table.rows))
    if run.status == FINISHED:
        return _result(factory, run.id, path.name, channel, [], already_imported=True)

    resumed_from = None if fresh or run.next_row == 0 else table.rows[run.next_row][0]
    context = _Context(mapping, positions, channel, ZoneInfo(settings.timezone), timesource.now())
    warnings: list[str] = []
    position = run.next_row
    while position < len(table.rows):
        batch = table.rows[position : position + batch_size]
        rows = [_prepare(number, cells, context) for number, cells in batch]
        warnings += [row.warning for row in rows if row.warning]
        _import_batch(factory, run.id, position, rows, actor, channel, settings, len(table.rows))
        position += len(batch)
        if progress is not None:
            progress(position, len(table.rows))
    return _result(factory, run.id, path.name, channel, warnings, resumed_from=resumed_from)


def _start_run(
    session: Session,
    actor: Actor,
    path: Path,
    sha256: str,
    channel: Channel,
    mapping: ColumnMapping,
    total: int,
) -> tuple[ImportRun, bool]:
    sheet = mapping.sheet or ""
    run = session.execute(
        select(ImportRun).where(
            ImportRun.file_sha256 == sha256, ImportRun.channel == channel.value, ImportRun.sheet == sheet
        )
    ).scalar_one_or_none()
    if run is not None:
        if run.status != FINISHED and run.mapping != mapping.to_dict():
            raise InvalidInputError(
                f"{path.name} 上次以不同的列对应关系开始导入且尚未完成；请使用相同的对应关系继续："
                + json.dumps(run.mapping, ensure_ascii=False),
                code="mapping_changed",
                detail={"previous": run.mapping},
            )
        return run, False
    run = ImportRun(
        source_name=path.name[:200],
        file_sha256=sha256,
        channel=channel.value,
        sheet=sheet,
        mapping=mapping.to_dict(),
        total_rows=total,
        next_row=0,
        created=0,
        duplicates=0,
        rejected=0,
        status=RUNNING,
    )
    session.add(run)
    session.flush()
    audit.record(
        session, actor, "case.import.start", "case_import_run", run.id, {"file": run.source_name, "rows": total}
    )
    return run, True


def _refused(session: Session, row: _Row, error: InvalidInputError) -> RejectedRow:
    """A row refused before intake, for every problem: its category too, which intake would have checked."""
    problems = Problems()
    problems.add(error)
    if row.category:
        problems.check(partial(leaf_category, session, row.category), None)
    return RejectedRow(row.number, "；".join(p.message for p in problems.found), problems.found[0].code)


def _import_batch(
    factory: sessionmaker[Session],
    run_id: int,
    start: int,
    rows: Sequence[_Row],
    actor: Actor,
    channel: Channel,
    settings: Settings,
    total: int,
) -> None:
    """One batch in one transaction: its cases, its rejected rows and the run's progress commit together."""
    with transaction(factory) as session:
        run = session.execute(select(ImportRun).where(ImportRun.id == run_id).with_for_update()).scalar_one()
        if run.status != RUNNING or run.next_row != start:
            raise ConflictError(
                f"文件“{run.source_name}”正由另一个导入进程处理（已处理到第{run.next_row}个数据行）",
                code="import_in_progress",
            )
        good = [row for row in rows if row.error is None]
        existing = _existing_source_ids(session, channel, (row.source_id for row in good))
        created = duplicates = 0
        errors = [_refused(session, row, row.error) for row in rows if row.error is not None]
        for row in good:
            assert row.request is not None
            if row.source_id in existing:
                duplicates += 1
                continue
            try:
                with session.begin_nested():
                    result = intake(session, actor, row.request, settings=settings)
            except (InvalidInputError, NotFoundError) as error:
                errors.append(RejectedRow(row.number, error.message, error.code))
                continue
            except ConflictError as error:
                if error.code != "duplicate_not_visible":  # a case outside the operator's view: still a duplicate
                    raise
                duplicates += 1
                continue
            existing.add(row.source_id)
            if result.created:
                created += 1
            else:
                duplicates += 1
        if errors:
            session.execute(
                insert(ImportRowError),
                [{"run_id": run_id, "row_number": e.row, "reason": e.reason[:500], "code": e.code} for e in errors],
            )
        run.next_row = start + len(rows)
        run.created += created
        run.duplicates += duplicates
        run.rejected += len(errors)
        if run.next_row >= total:
            run.status = FINISHED
            run.finished_at = utcnow()
            audit.record(
                session,
                actor,
                "case.import.finish",
                "case_import_run",
                run.id,
                {"created": run.created, "duplicates": run.duplicates, "rejected": run.rejected},
            )


def _existing_source_ids(session: Session, channel: Channel, source_ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(source_ids))
    if not wanted:
        return set()
    found = session.execute(
        select(Case.source_id).where(Case.channel == channel.value, Case.source_id.in_(wanted))
    ).scalars()
    return {source_id for source_id in found if source_id is not None}


def _result(
    factory: sessionmaker[Session],
    run_id: int,
    source: str,
    channel: Channel,
    warnings: list[str],
    *,
    already_imported: bool = False,
    resumed_from: int | None = None,
) -> HotlineImportResult:
    with factory() as session:
        run = session.execute(select(ImportRun).where(ImportRun.id == run_id)).scalar_one()
        errors = session.execute(
            select(ImportRowError.row_number, ImportRowError.reason, ImportRowError.code)
            .where(ImportRowError.run_id == run_id)
            .order_by(ImportRowError.row_number)
        ).all()
        return HotlineImportResult(
            source=source,
            channel=channel,
            run_id=run.id,
            total_rows=run.total_rows,
            created=run.created,
            duplicates=run.duplicates,
            rejected=[RejectedRow(row, reason, code) for row, reason, code in errors],
            warnings=warnings,
            already_imported=already_imported,
            resumed_from_row=resumed_from,
            finished=run.status == FINISHED,
        )
