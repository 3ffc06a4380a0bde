"""Reporting periods: a day … a year or a custom range, in Beijing calendar days, and the periods to compare with.

A period is the half-open interval [start, end) of Beijing dates. Spellings accepted (what `civicgrid report
--period` and the dashboard take): ``2025`` (year), ``2025-H1`` / ``2025-H2`` (half-year), ``2025-Q3`` (quarter),
``2025-06`` (month), ``2025-W23`` (ISO week), ``2025-06-15`` (day), ``2025-01-01..2025-03-31`` (custom, both ends
included).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from civicgrid.errors import InvalidInputError

BEIJING = ZoneInfo("Asia/Shanghai")


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """[first, last] Beijing dates, both included (``end`` is the day after ``last``)."""

    first: dt.date
    last: dt.date
    granularity: Granularity

    @property
    def end(self) -> dt.date:
        return self.last + dt.timedelta(days=1)

    @property
    def start_utc(self) -> dt.datetime:
        return _midnight_utc(self.first)

    @property
    def end_utc(self) -> dt.datetime:
        return _midnight_utc(self.end)

    @property
    def days(self) -> int:
        return (self.end - self.first).days

    @property
    def key(self) -> str:
        """The spelling ``parse_period`` reads back."""
        first = self.first
        match self.granularity:
            case Granularity.YEAR:
                return f"{first.year}"
            case Granularity.HALF:
                return f"{first.year}-H{1 if first.month == 1 else 2}"
            case Granularity.QUARTER:
                return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
            case Granularity.MONTH:
                return f"{first.year}-{first.month:02d}"
            case Granularity.WEEK:
                year, week, _ = first.isocalendar()
                return f"{year}-W{week:02d}"
            case Granularity.DAY:
                return first.isoformat()
        return f"{first.isoformat()}..{self.last.isoformat()}"

    @property
    def label(self) -> str:
        """How the work reports name a period: 2025年上半年, 2025年1-6月 style."""
        first, last = self.first, self.last
        match self.granularity:
            case Granularity.YEAR:
                return f"{first.year}年"
            case Granularity.HALF:
                return f"{first.year}年{'上' if first.month == 1 else '下'}半年"
            case Granularity.QUARTER:
                return f"{first.year}年第{'一二三四'[(first.month - 1) // 3]}季度"
            case Granularity.MONTH:
                return f"{first.year}年{first.month}月"
            case Granularity.WEEK:
                return f"{first.year}年{first.month}月{first.day}日至{last.month}月{last.day}日"
            case Granularity.DAY:
                return f"{first.year}年{first.month}月{first.day}日"
        if first.year == last.year:
            return f"{first.year}年{first.month}月{first.day}日至{last.month}月{last.day}日"
        return f"{first.year}年{first.month}月{first.day}日至{last.year}年{last.month}月{last.day}日"

    @property
    def month_span_label(self) -> str:
        """今年1-6月 style, for the report's opening sentence (falls back to ``label`` for other spans)."""
        if self.first.day == 1 and self.end.day == 1 and self.first.year == self.last.year:
            if self.first.month == self.last.month:
                return f"{self.first.month}月"
            return f"{self.first.month}-{self.last.month}月"
        return self.label

    def previous(self) -> Period:
        """The period just before (环比): the previous month for a month, the previous half for a half …; a custom
        range or a week is compared with the same number of days just before it."""
        if self.granularity in _MONTHLY:
            months = _MONTHLY[self.granularity]
            return _month_period(_add_months(self.first, -months), months, self.granularity)
        length = dt.timedelta(days=self.days)
        return Period(self.first - length, self.last - length, self.granularity)

    def same_last_year(self) -> Period:
        """The same period a year earlier (同比)."""
        if self.granularity is Granularity.WEEK:
            return Period(self.first - dt.timedelta(weeks=52), self.last - dt.timedelta(weeks=52), self.granularity)
        return Period(_shift_year(self.first, -1), _shift_year(self.last, -1), self.granularity)

    def through(self, day: dt.date) -> Period:
        """The period up to ``day`` (included) when it would end later — 2025年1月1日至12月7日 for 2025 cut on
        7 December; the period itself otherwise."""
        if not self.first <= day < self.last:
            return self
        return Period(self.first, day, Granularity.CUSTOM)

    def bases(self, today: dt.date) -> tuple[Period, Period]:
        """The periods 环比 and 同比 compare with: ``previous()`` and ``same_last_year()`` — cut to the same span
        while the period is still running on ``today`` (the counting day), so that a running period is never set
        against a whole one: December's first seven days against November's and last December's first seven,
        今年1-12月（截至12月7日） against 上年1月1日至12月7日."""
        previous, last_year = self.previous(), self.same_last_year()
        if not self.first <= today < self.last:
            return previous, last_year
        elapsed = today - self.first
        # 52 weeks back for a week; otherwise the same date a year ago (上年同期 ends on 12月7日, leap year or not)
        year_day = last_year.first + elapsed if self.granularity is Granularity.WEEK else _shift_year(today, -1)
        return previous.through(previous.first + elapsed), last_year.through(year_day)

    def months(self) -> list[Period]:
        """The calendar months the period touches, clipped to the period (the trend line's points)."""
        found, cursor = [], self.first.replace(day=1)
        while cursor <= self.last:
            month_last = cursor.replace(day=calendar.monthrange(cursor.year, cursor.month)[1])
            found.append(Period(max(cursor, self.first), min(month_last, self.last), Granularity.MONTH))
            cursor = month_last + dt.timedelta(days=1)
        return found


_MONTHLY = {Granularity.MONTH: 1, Granularity.QUARTER: 3, Granularity.HALF: 6, Granularity.YEAR: 12}


def _midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(dt.UTC)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_period(first: dt.date, months: int, granularity: Granularity) -> Period:
    return Period(first, _add_months(first, months) - dt.timedelta(days=1), granularity)


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


_PATTERNS: list[tuple[re.Pattern[str], Granularity]] = [
    (re.compile(r"(\d{4})"), Granularity.YEAR),
    (re.compile(r"(\d{4})-?H([12])", re.IGNORECASE), Granularity.HALF),
    (re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE), Granularity.QUARTER),
    (re.compile(r"(\d{4})-W(\d{1,2})", re.IGNORECASE), Granularity.WEEK),
    (re.compile(r"(\d{4})-(\d{1,2})"), Granularity.MONTH),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), Granularity.DAY),
]

PERIOD_HELP = "期间写法：2025、2025-H1、2025-Q3、2025-06、2025-W23、2025-06-15，或 2025-01-01..2025-03-31"


def parse_period(text: str) -> Period:
    """A period from its spelling; a clear Chinese error for anything else."""
    value = (text or "").strip()
    if ".." in value:
        return _custom(value)
    for pattern, granularity in _PATTERNS:
        match = pattern.fullmatch(value)
        if match:
            try:
                return _build(granularity, [int(part) for part in match.groups()])
            except ValueError:
                break
    raise _unrecognised(value)


def _unrecognised(value: str) -> InvalidInputError:
    message = f"无法识别的统计期间“{value}”。{PERIOD_HELP}"
    return InvalidInputError(message, code="invalid_period", detail={"period": value})


def _build(granularity: Granularity, parts: list[int]) -> Period:
    year = parts[0]
    _check_year(year)
    match granularity:
        case Granularity.YEAR:
            return _month_period(dt.date(year, 1, 1), 12, granularity)
        case Granularity.HALF:
            return _month_period(dt.date(year, 1 + 6 * (parts[1] - 1), 1), 6, granularity)
        case Granularity.QUARTER:
            return _month_period(dt.date(year, 1 + 3 * (parts[1] - 1), 1), 3, granularity)
        case Granularity.MONTH:
            return _month_period(dt.date(year, parts[1], 1), 1, granularity)
        case Granularity.WEEK:
            monday = dt.date.fromisocalendar(year, parts[1], 1)
            return Period(monday, monday + dt.timedelta(days=6), granularity)
    day = dt.date(year, parts[1], parts[2])
    return Period(day, day, Granularity.DAY)


def _custom(value: str) -> Period:
    first_text, _, last_text = value.partition("..")
    try:
        first, last = dt.date.fromisoformat(first_text.strip()), dt.date.fromisoformat(last_text.strip())
        _check_year(first.year)
        _check_year(last.year)
    except ValueError as error:
        raise _unrecognised(value) from error
    if last < first:
        raise InvalidInputError("统计期间的结束日期早于开始日期", code="invalid_period", detail={"period": value})
    return Period(first, last, Granularity.CUSTOM)


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise ValueError(year)
