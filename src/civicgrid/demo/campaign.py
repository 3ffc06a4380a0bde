"""A campaign under way in the demo street: 入户摸排 of every household, launched a week ago, the grid workers part
of the way through — each visit answered from what the registry knows of the house (its residents, its use, an
elderly person living alone), a few gas hazards found and turned into cases, some households not reached.

Submitted through the service as each grid's own worker, so progress, cases and the report sentence are real."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import timesource
from civicgrid.campaigns.models import CampaignTarget, CampaignTask, Outcome
from civicgrid.campaigns.questions import PRESET_BY_KEY
from civicgrid.campaigns.service import CampaignSpec, SubmissionInput, create_campaign, submit
from civicgrid.demo.district import MAIN_STREET
from civicgrid.org.actor import Actor
from civicgrid.org.models import User
from civicgrid.org.service import actor_for
from civicgrid.registry.models import House, Person
from civicgrid.settings import Settings

NAME = "2026年冬季入户大走访"


@dataclass(frozen=True)
class CampaignOptions:
    visits: int = 1500  # about how many households the workers have visited so far
    seed: int = 20261206
    hazard_rate: float = 0.004
    absent_rate: float = 0.08


def start_campaign(session: Session, settings: Settings, options: CampaignOptions | None = None) -> str:
    """The campaign and its first visits; the report sentence's numbers as a summary line."""
    options = options or CampaignOptions()
    rng = np.random.default_rng(options.seed)
    preset = PRESET_BY_KEY["household_survey"]
    now = timesource.now()
    spec = CampaignSpec(
        name=NAME,
        verb=preset.verb,
        target_kind=preset.target_kind,
        grid_code=MAIN_STREET,
        deadline=now + dt.timedelta(days=14),
        questions=list(preset.questions),
        purpose="全面核实辖区房屋、人口底数，排查燃气安全隐患，摸清独居老人情况。",
    )
    campaign = create_campaign(session, Actor.system("演示数据生成"), spec)
    tasks = session.scalars(select(CampaignTask).where(CampaignTask.campaign_id == campaign.id)).all()
    share = min(1.0, options.visits / max(campaign.target_count, 1))
    done: Counter[str] = Counter()
    for task in tasks:
        if not task.assignee_ids:
            continue
        worker = actor_for(session, session.get(User, task.assignee_ids[0]))  # type: ignore[arg-type]
        targets = session.scalars(
            select(CampaignTarget).where(CampaignTarget.task_id == task.id).order_by(CampaignTarget.id)
        ).all()
        for target in targets[: round(len(targets) * share * rng.uniform(0.3, 1.7))]:
            outcome = Outcome.NOT_REACHED if rng.random() < options.absent_rate else Outcome.VISITED
            answers = _answers(session, target, rng, options.hazard_rate) if outcome is Outcome.VISITED else {}
            submit(
                session, worker, campaign.id, target.id, SubmissionInput(uuid.uuid4().hex, outcome, answers),
                settings=settings,
            )  # fmt: skip
            done[outcome.value] += 1
    return f"“{NAME}”：目标{campaign.target_count}户，已走访{done['visited']}户，未遇{done['not_reached']}户"


def _answers(session: Session, target: CampaignTarget, rng: np.random.Generator, hazard_rate: float) -> dict[str, str]:
    house = session.get(House, target.object_id)
    living = select(Person.tags).where(Person.house_id == target.object_id, Person.moved_out_at.is_(None))
    tags = session.scalars(living).all()
    alone = any("独居老人" in (person_tags or []) for person_tags in tags)
    occupancy = house.occupancy if house is not None and house.occupancy in ("自住", "出租", "空置") else "其他"
    return {
        "residents": str(len(tags)),
        "occupancy": occupancy,
        "elderly_alone": "是" if alone else "否",
        "gas": "是" if rng.random() < hazard_rate else "否",
    }
