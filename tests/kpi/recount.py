"""An independent recount of the KPI counters with pandas, from the 案件明细 Excel export alone.

Written from the rules in docs/KPI.md, not from the SQL in civicgrid.kpi.metrics: if both agree on the same
cases, neither is likely to be wrong in the same way."""

from __future__ import annotations

import datetime as dt
import math
from io import BytesIO
from zoneinfo import ZoneInfo

import pandas as pd

BEIJING = ZoneInfo("Asia/Shanghai")


def read_detail(workbook: bytes) -> pd.DataFrame:
    frame = pd.read_excel(BytesIO(workbook), sheet_name="案件明细", dtype={"案件编号": str, "网格代码": str})
    return frame[frame["案件编号"].notna() & frame["受理时间"].notna()]  # drop the note under the table


def recount(frame: pd.DataFrame, now: dt.datetime) -> dict[str, int]:
    """The counters of civicgrid.kpi.metrics.Counts for the rows given."""
    now_beijing = pd.Timestamp(now.astimezone(BEIJING).replace(tzinfo=None))
    yes = {column: frame[column] == "是" for column in ("自处置", "联动", "当前超期", "曾超期")}
    own = frame["主案件编号"].isna()
    closed = (frame["状态"] == "已结案") & own
    dispatched = frame["派遣时间"].notna() & ~yes["自处置"] & own
    open_states = ~frame["状态"].isin(["已结案", "不予立案", "已合并"])
    rating = frame["评价"]
    in_time = frame["立案时限"].isna() | (frame["首次响应时间"] <= frame["立案时限"])
    on_time = frame["处置时限"].isna() | frame["提交结果时间"].isna() | (frame["提交结果时间"] <= frame["处置时限"])
    timed = closed & ~yes["自处置"] & frame["处置用时（工作分钟）"].notna()
    counters = {
        "received": pd.Series(True, index=frame.index),
        "duplicates": ~own,
        "registered": frame["立案时间"].notna() & own,
        "rejected": frame["状态"] == "不予立案",
        "dispatched": dispatched,
        "linked": yes["联动"] & own,
        "suspended": (frame["状态"] == "挂账中") & own,
        "closed": closed,
        "closed_on_time": closed & on_time,
        "overdue_now": yes["当前超期"] & open_states & own,
        "ever_overdue": yes["曾超期"] & own,
        "reworked": closed & (frame["返工次数"] > 0),
        "extended": dispatched & (frame["延期次数"] > 0),
        "self_handled": closed & yes["自处置"],
        "rated": rating.notna() & own,
        "satisfied": (rating == "满意") & own,
        "basically_satisfied": (rating == "基本满意") & own,
        "unsatisfied": (rating == "不满意") & own,
        "due_to_respond": frame["首次响应时间"].notna() | (frame["立案时限"] <= now_beijing),
        "responded_on_time": frame["首次响应时间"].notna() & in_time,
        "resolved": closed & (rating != "不满意"),
        "reopened": (frame["重办次数"] > 0) & own,
        "handle_minutes_count": timed,
    }
    counted = {name: int(mask.sum()) for name, mask in counters.items()}
    counted["handle_minutes_total"] = int(frame.loc[timed, "处置用时（工作分钟）"].sum())
    return counted


def nearest_rank_percentiles(frame: pd.DataFrame) -> tuple[int | None, int | None]:
    """Median and P90 of the handling minutes by the nearest-rank method."""
    closed = (frame["状态"] == "已结案") & frame["主案件编号"].isna() & (frame["自处置"] == "否")
    values = sorted(int(v) for v in frame.loc[closed, "处置用时（工作分钟）"].dropna())
    if not values:
        return None, None
    n = len(values)
    return values[math.ceil(n / 2) - 1], values[math.ceil(0.9 * n) - 1]
