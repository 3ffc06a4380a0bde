"""How far a campaign is: per grid and per worker done / total / overdue, within the reader's grids; the sentence a
work report needs ("共摸排61271户，共计159233人，……"); and the answers as an Excel sheet.

Counted in the database (one grouped query per table), so a campaign over a street's 70,000 households answers
at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.campaigns.models import Campaign, CampaignSubmission, CampaignTarget, CampaignTask, Outcome
from civicgrid.campaigns.questions import RESIDENTS
from civicgrid.campaigns.questions import hazards as found_hazards
from civicgrid.campaigns.service import questions_of, unit_of
from civicgrid.code_prefix import code_in_subtrees
from civicgrid.excel import workbook_bytes
from civicgrid.kpi.periods import BEIJING
from civicgrid.org.actor import Actor
from civicgrid.org.models import User


@dataclass(frozen=True)
class GridProgress:
    grid_code: str
    grid_name: str
    workers: str
    total: int
    done: int
    overdue: int
    assignee_ids: tuple[int, ...] = ()

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class WorkerProgress:
    """A worker's grids (assigned, and overdue of them after the deadline) and her own visits (done, 未遇)."""

    label: str
    assigned: int
    done: int
    not_reached: int
    overdue: int


@dataclass(frozen=True)
class Progress:
    campaign: Campaign
    grids: list[GridProgress]
    workers: list[WorkerProgress]
    total: int
    done: int
    overdue: int
    people: int | None  # the sum of 实际居住人数, when the form asks it
    hazards: int
    cases: int

    @property
    def percent(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0

    @property
    def is_past_deadline(self) -> bool:
        return timesource.now() > self.campaign.deadline


def progress(session: Session, actor: Actor, campaign: Campaign) -> Progress:
    """Within the actor's grids: a grid worker sees her grids, the street office the whole campaign."""
    past = timesource.now() > campaign.deadline
    grids = _grids(session, actor, campaign, past)
    total, done = sum(g.total for g in grids), sum(g.done for g in grids)
    submitted = _visited_answers(session, actor, campaign)
    questions = questions_of(campaign)
    asks_people = any(question.key == RESIDENTS for question in questions)
    people = sum(int(answers.get(RESIDENTS) or 0) for answers, _ in submitted) if asks_people else None
    hazards = sum(len(found_hazards(questions, answers)) for answers, _ in submitted)
    cases = sum(len(numbers) for _, numbers in submitted)
    return Progress(
        campaign=campaign,
        grids=grids,
        workers=_workers(session, actor, campaign, grids),
        total=total,
        done=done,
        overdue=sum(g.overdue for g in grids),
        people=people,
        hazards=hazards,
        cases=cases,
    )


def summary_sentence(view: Progress, today: dt.date | None = None) -> str:
    """截至12月6日，“…”共摸排1234户（目标2000户，完成61.7%），共计3210人，发现隐患12处，已转办案件12件。"""
    campaign, unit = view.campaign, unit_of(view.campaign)
    day = today or timesource.now().astimezone(BEIJING).date()
    parts = [
        f"截至{day.month}月{day.day}日，“{campaign.name}”共{campaign.verb}{view.done}{unit}"
        f"（目标{view.total}{unit}，完成{_percent(view.percent)}）"
    ]
    if view.people is not None:
        parts.append(f"共计{view.people}人")
    if view.hazards:
        parts.append(f"发现隐患{view.hazards}处，已转办案件{view.cases}件")
    sentence = "，".join(parts) + "。"
    if view.overdue:
        sentence += f"已过截止时间，尚有{view.overdue}{unit}未完成。"
    return sentence


def export_answers(session: Session, actor: Actor, campaign: Campaign) -> bytes:
    """Every target in the actor's grids with its visit: who, when, each answer, the cases opened."""
    questions = questions_of(campaign)
    headers = ["对象", "地址", "网格", "状态", "填报人", "填报时间", *(q.label for q in questions), "转办案件"]
    return workbook_bytes(f"{campaign.verb}结果", headers, _answer_rows(session, actor, campaign))


def _answer_rows(session: Session, actor: Actor, campaign: Campaign) -> Iterator[list[Any]]:
    questions = questions_of(campaign)
    latest = (
        select(CampaignSubmission.target_id, func.max(CampaignSubmission.id).label("id"))
        .where(CampaignSubmission.campaign_id == campaign.id)
        .group_by(CampaignSubmission.target_id)
        .subquery()
    )
    stmt = (
        select(CampaignTarget, CampaignSubmission)
        .outerjoin(latest, latest.c.target_id == CampaignTarget.id)
        .outerjoin(CampaignSubmission, CampaignSubmission.id == latest.c.id)
        .where(CampaignTarget.campaign_id == campaign.id, code_in_subtrees(CampaignTarget.scope_code, actor.grid_codes))
        .order_by(CampaignTarget.scope_code, CampaignTarget.id)
    )
    for target, submission in session.execute(stmt.execution_options(yield_per=2000)):
        answers = submission.answers if submission is not None else {}
        state = "已完成" if target.done_at else (Outcome(submission.outcome).label if submission else "未开始")
        yield [
            target.label,
            target.address,
            target.scope_code,
            state,
            submission.submitted_by_label if submission else None,
            submission.submitted_at if submission else None,
            *(answers.get(question.key) for question in questions),
            "、".join(submission.case_numbers) if submission else None,
        ]


def _grids(session: Session, actor: Actor, campaign: Campaign, past: bool) -> list[GridProgress]:
    done = func.count(CampaignTarget.done_at)
    stmt = (
        select(CampaignTask, func.count(CampaignTarget.id), done)
        .join(CampaignTarget, CampaignTarget.task_id == CampaignTask.id)
        .where(CampaignTask.campaign_id == campaign.id, code_in_subtrees(CampaignTask.grid_code, actor.grid_codes))
        .group_by(CampaignTask.id)
        .order_by(CampaignTask.grid_code)
    )
    rows = session.execute(stmt).all()
    user_ids = sorted({user_id for task, _, _ in rows for user_id in task.assignee_ids})
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all())
    return [
        GridProgress(
            grid_code=task.grid_code,
            grid_name=task.grid_name,
            workers="、".join(names.get(user_id, str(user_id)) for user_id in task.assignee_ids) or "（未分配）",
            total=int(total),
            done=int(finished),
            overdue=int(total) - int(finished) if past else 0,
            assignee_ids=tuple(task.assignee_ids),
        )
        for task, total, finished in rows
    ]


def _workers(session: Session, actor: Actor, campaign: Campaign, grids: list[GridProgress]) -> list[WorkerProgress]:
    """Everyone assigned a grid in the reader's scope or who visited there, most visits first."""
    assigned: dict[int, int] = defaultdict(int)
    overdue: dict[int, int] = defaultdict(int)
    for grid in grids:
        for user_id in grid.assignee_ids:
            assigned[user_id] += grid.total
            overdue[user_id] += grid.overdue
    visited = case((CampaignSubmission.outcome == Outcome.VISITED.value, 1), else_=0)
    missed = case((CampaignSubmission.outcome == Outcome.NOT_REACHED.value, 1), else_=0)
    stmt = (
        select(CampaignSubmission.submitted_by_user_id, func.sum(visited), func.sum(missed))
        .join(CampaignTarget, CampaignTarget.id == CampaignSubmission.target_id)
        .where(CampaignSubmission.campaign_id == campaign.id)
        .where(code_in_subtrees(CampaignTarget.scope_code, actor.grid_codes))
        .group_by(CampaignSubmission.submitted_by_user_id)
    )
    visits = {user_id: (int(done or 0), int(not_reached or 0)) for user_id, done, not_reached in session.execute(stmt)}
    people = sorted(set(assigned) | {user_id for user_id in visits if user_id is not None})
    labels = {user.id: f"{user.display_name}（{user.username}）" for user in _users(session, people)}
    rows = [
        WorkerProgress(
            labels.get(user_id, str(user_id)), assigned[user_id], *visits.get(user_id, (0, 0)), overdue[user_id]
        )
        for user_id in people
    ]
    return sorted(rows, key=lambda row: (-row.done, row.label))


def _users(session: Session, ids: list[int]) -> list[User]:
    return list(session.scalars(select(User).where(User.id.in_(ids)))) if ids else []


def _visited_answers(session: Session, actor: Actor, campaign: Campaign) -> list[tuple[dict[str, Any], list[str]]]:
    stmt = (
        select(CampaignSubmission.answers, CampaignSubmission.case_numbers)
        .join(CampaignTarget, CampaignTarget.id == CampaignSubmission.target_id)
        .where(CampaignSubmission.campaign_id == campaign.id, CampaignSubmission.outcome == Outcome.VISITED.value)
        .where(code_in_subtrees(CampaignTarget.scope_code, actor.grid_codes))
    )
    return [(dict(answers or {}), list(numbers or [])) for answers, numbers in session.execute(stmt)]


def _percent(value: float) -> str:
    return f"{value:g}%"
