"""The admin-editable holiday table: it overrides chinese-calendar and covers years it does not know yet."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, UTCDateTime, utcnow


class CalendarDay(Base):
    """One day whose status an administrator set: a holiday on a weekday, or a make-up workday (调休) on a weekend."""

    __tablename__ = "work_calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(50), default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CalendarYear(Base):
    """A year an administrator declared complete: its holidays are all in the table (State Council notice)."""

    __tablename__ = "work_calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    confirmed_by: Mapped[str] = mapped_column(String(100))
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")
