"""The 12345 hotline's 三率 (响应率, 解决率, 满意率): the hotline's own assessment, so counted over the hotline
channels only — 12345 and the lines merged into it (8890, 96685, the online message board: ``cases.intake.HOTLINES``)
— never over every channel. The dashboard's card, the JSON API and the work report all take them from here."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from civicgrid.cases.intake import HOTLINES
from civicgrid.cases.models import CHANNEL_LABELS, Channel
from civicgrid.kpi.service import Comparison, KpiQuery, compare, headline
from civicgrid.org.actor import Actor
from civicgrid.settings import Settings

HOTLINE_CHANNELS: frozenset[Channel] = HOTLINES
HOTLINE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
HOTLINE_TITLE = "12345热线三率"
_ORDER = [Channel.HOTLINE_12345, Channel.HOTLINE_8890, Channel.HOTLINE_96685, Channel.MESSAGE_BOARD]


def hotline_channels_text() -> str:
    """12345热线、8890热线、96685热线和网络留言 — what the 三率 count, in words."""
    names = [CHANNEL_LABELS[channel] for channel in _ORDER if channel in HOTLINE_CHANNELS]
    return "、".join(names[:-1]) + f"和{names[-1]}" if len(names) > 1 else "".join(names)


def hotline_query(query: KpiQuery) -> KpiQuery:
    """The query narrowed to the hotline channels (within its own channel filter, if it has one)."""
    return replace(query, channel_group=HOTLINE_CHANNELS)


def hotline_comparison(
    session: Session, actor: Actor, query: KpiQuery, *, now: dt.datetime, settings: Settings | None = None
) -> Comparison:
    """The hotline cases' figures with their 环比 and 同比 (no handling-time percentiles: the 三率 need none)."""
    hotline = hotline_query(query)
    current = headline(session, actor, hotline, now=now, settings=settings, percentiles=False)
    return compare(session, actor, hotline, now=now, settings=settings, current=current)
