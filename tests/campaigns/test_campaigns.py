"""Door-to-door campaigns through the service, on both backends: launched over the registry's households in a
street and split per grid to its workers; filled in target by target — a retried submission is not duplicated, a
second visit is refused, a hazard answer opens one case naming the household; progress per grid and worker with
overdue after the deadline, the report sentence, and the answers exported."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.cases.conftest import IN_UNIT, OTHER_UNIT, STREET, UNIT, District, beijing

from civicgrid import timesource
from civicgrid.campaigns import progress as campaign_progress
from civicgrid.campaigns.models import CampaignSubmission, Outcome
from civicgrid.campaigns.questions import PRESET_BY_KEY
from civicgrid.campaigns.service import (
    CampaignSpec,
    SubmissionInput,
    close_campaign,
    create_campaign,
    find_targets,
    get_campaign,
    submit,
)
from civicgrid.cases.models import Case, Category
from civicgrid.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from civicgrid.org.actor import Actor
from civicgrid.registry import objects
from civicgrid.registry.models import CaseSubject
from civicgrid.registry.placing import Where
from civicgrid.tables import read_table_bytes

IN_OTHER_UNIT = (120.425, 36.475)
SURVEY = list(PRESET_BY_KEY["household_survey"].questions)
GOOD = {"residents": "3", "occupancy": "自住", "elderly_alone": "否", "gas": "否"}


def houses(d: District, count: int, spot: tuple[float, float], street: str) -> list[int]:
    lon, lat = spot
    return [
        objects.register(
            d.session,
            d.system,
            "house",
            {"name": f"{street}{n}号", "address": f"{street}{n}号"},
            Where(lon, lat, "wgs84"),
        ).id
        for n in range(1, count + 1)
    ]


def launched(d: District, admin: Actor, **changes: object) -> int:
    spec = CampaignSpec(
        name="2025年秋季入户摸排",
        verb="摸排",
        target_kind="house",
        grid_code=STREET,
        deadline=beijing(2025, 10, 20, 18, 0),
        questions=SURVEY,
    )
    return create_campaign(d.session, admin, CampaignSpec(**{**spec.__dict__, **changes})).id


def visit(d: District, campaign_id: int, target_id: int, answers: dict[str, str] | None = None, **kw: object) -> tuple:
    given = SubmissionInput(
        client_submission_id=str(kw.get("client_id") or uuid.uuid4()),
        outcome=kw.get("outcome", Outcome.VISITED),  # type: ignore[arg-type]
        answers=GOOD if answers is None else answers,
    )
    return submit(d.session, d.grid_worker, campaign_id, target_id, given, settings=d.settings)


@pytest.fixture
def campaign(district: District, street_admin: Actor) -> int:
    houses(district, 5, IN_UNIT, "泰和路")
    houses(district, 3, IN_OTHER_UNIT, "华山路")
    return launched(district, street_admin)


def my_targets(d: District, campaign_id: int) -> list[int]:
    found = get_campaign(d.session, d.grid_worker, campaign_id)
    return [target.id for target in find_targets(d.session, d.grid_worker, found, limit=100)[0]]


def test_a_campaign_is_split_per_grid_to_that_grids_workers(district: District, campaign: int) -> None:
    d = district
    view = campaign_progress.progress(d.session, d.system, get_campaign(d.session, d.system, campaign))
    assert [(g.grid_code, g.total, g.done, g.workers) for g in view.grids] == [
        (UNIT, 5, 0, "grid_worker"),
        (OTHER_UNIT, 3, 0, "（未分配）"),
    ]
    assert len(my_targets(d, campaign)) == 5  # she sees her grid's households only


def test_launching_is_refused_without_targets_permission_or_a_sound_form(
    district: District, street_admin: Actor
) -> None:
    d = district
    with pytest.raises(InvalidInputError) as empty:
        launched(d, street_admin)
    assert empty.value.code == "no_targets"
    houses(d, 1, IN_UNIT, "泰和路")
    with pytest.raises(PermissionDeniedError):
        launched(d, d.grid_worker)
    bad_hazard = [{"key": "gas", "label": "燃气", "type": "yes_no", "hazard_when": "是", "hazard_category": "飞碟"}]
    with pytest.raises(InvalidInputError) as form:
        launched(d, street_admin, questions=bad_hazard)
    assert form.value.code == "form_bad_category"
    with pytest.raises(InvalidInputError) as late:
        launched(d, street_admin, deadline=beijing(2025, 10, 1, 0, 0))
    assert late.value.code == "deadline_past"


def test_a_retried_submission_is_not_duplicated_and_a_second_visit_is_refused(
    district: District, campaign: int
) -> None:
    d = district
    first = my_targets(d, campaign)[0]
    submission, created = visit(d, campaign, first, client_id="phone-0001-abcd")
    again, created_again = visit(d, campaign, first, client_id="phone-0001-abcd")
    assert created and not created_again and again.id == submission.id
    count = d.session.execute(select(func.count()).select_from(CampaignSubmission)).scalar_one()
    assert count == 1
    with pytest.raises(ConflictError) as twice:
        visit(d, campaign, first)
    assert twice.value.code == "already_done" and "grid_worker" in twice.value.message
    with pytest.raises(ConflictError) as reused:
        visit(d, campaign, my_targets(d, campaign)[1], client_id="phone-0001-abcd")
    assert reused.value.code == "client_id_reused"


def test_answers_are_checked_naming_the_question(district: District, campaign: int) -> None:
    d = district
    target = my_targets(d, campaign)[0]
    for answers, code in (
        ({**GOOD, "residents": ""}, "answer_required"),
        ({**GOOD, "residents": "三"}, "answer_not_a_number"),
        ({**GOOD, "occupancy": "借住"}, "answer_not_a_choice"),
        ({**GOOD, "colour": "红"}, "answer_unknown_question"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            visit(d, campaign, target, answers)
        assert refused.value.code == code
    missed, _ = visit(d, campaign, target, {}, outcome=Outcome.NOT_REACHED)
    assert missed.outcome == "not_reached"
    done, _ = visit(d, campaign, target)  # visited later: now it is done
    assert done.outcome == "visited"


def test_a_target_elsewhere_or_a_closed_campaign_is_refused(
    district: District, campaign: int, street_admin: Actor
) -> None:
    d = district
    view = get_campaign(d.session, d.system, campaign)
    elsewhere = [t.id for t in find_targets(d.session, d.system, view, limit=100)[0] if t.scope_code == OTHER_UNIT]
    with pytest.raises(NotFoundError):
        visit(d, campaign, elsewhere[0])
    close_campaign(d.session, street_admin, campaign)
    with pytest.raises(ConflictError) as closed:
        visit(d, campaign, my_targets(d, campaign)[0])
    assert closed.value.code == "campaign_closed"


def test_a_hazard_opens_one_case_naming_the_household(district: District, campaign: int) -> None:
    d = district
    target = my_targets(d, campaign)[0]
    answers = {**GOOD, "gas": "是", "note": "燃气软管老化"}
    submission, _ = visit(d, campaign, target, answers, client_id="phone-hazard-01")
    (number,) = submission.case_numbers
    case = d.session.scalars(select(Case).where(Case.number == number)).one()
    category = d.session.get(Category, case.category_id)
    assert category is not None and category.name == "燃气安全隐患"
    assert "燃气软管老化" in case.description and case.scope_code == UNIT
    subject = d.session.scalars(select(CaseSubject).where(CaseSubject.case_id == case.id)).one()
    assert subject.object_type == "house"
    visit(d, campaign, target, answers, client_id="phone-hazard-01")  # the retry opens no second case
    assert d.session.execute(select(func.count()).select_from(Case)).scalar_one() == 1


def test_progress_overdue_and_the_report_sentence(district: District, campaign: int) -> None:
    d = district
    mine = my_targets(d, campaign)
    visit(d, campaign, mine[0], {**GOOD, "residents": "4"})
    visit(d, campaign, mine[1], {**GOOD, "residents": "2", "gas": "是"})
    visit(d, campaign, mine[2], {}, outcome=Outcome.NOT_REACHED)
    found = get_campaign(d.session, d.system, campaign)
    view = campaign_progress.progress(d.session, d.system, found)
    assert (view.total, view.done, view.people, view.hazards, view.cases, view.overdue) == (8, 2, 6, 1, 1, 0)
    workers = [(w.label, w.assigned, w.done, w.not_reached, w.overdue) for w in view.workers]
    assert workers == [("grid_worker（grid-worker）", 5, 2, 1, 0)]
    sentence = campaign_progress.summary_sentence(view, today=dt.date(2025, 10, 9))
    assert (
        sentence
        == "截至10月9日，“2025年秋季入户摸排”共摸排2户（目标8户，完成25%），共计6人，发现隐患1处，已转办案件1件。"
    )
    with timesource.pinned(beijing(2025, 10, 21, 9, 0)):
        late = campaign_progress.progress(d.session, d.system, found)
        assert [(g.grid_code, g.overdue) for g in late.grids] == [(UNIT, 3), (OTHER_UNIT, 3)]
        assert [(w.assigned, w.overdue) for w in late.workers] == [(5, 3)]
        assert campaign_progress.summary_sentence(late).endswith("已过截止时间，尚有6户未完成。")
    own = campaign_progress.progress(d.session, d.grid_worker, found)
    assert [g.grid_code for g in own.grids] == [UNIT] and own.total == 5


def test_the_answers_export_lists_every_target_with_its_visit(district: District, campaign: int) -> None:
    d = district
    mine = my_targets(d, campaign)
    visit(d, campaign, mine[0], {**GOOD, "residents": "4", "note": '=HYPERLINK("x")'})
    raw = campaign_progress.export_answers(d.session, d.grid_worker, get_campaign(d.session, d.system, campaign))
    table = read_table_bytes(Path("摸排.xlsx"), raw)
    assert table.header[:4] == ("对象", "地址", "网格", "状态") and "实际居住人数" in table.header
    rows = [dict(zip(table.header, cells, strict=False)) for _, cells in table.rows]
    assert len(rows) == 5 and sorted(row["状态"] for row in rows) == ["已完成", "未开始", "未开始", "未开始", "未开始"]
    done = next(row for row in rows if row["状态"] == "已完成")
    assert done["实际居住人数"] == 4 and done["填报人"] == "grid_worker(grid-worker)"
    assert str(done["备注"]).startswith("'=")  # formula injection neutralised


def test_a_form_typed_one_question_per_line(district: District, street_admin: Actor) -> None:
    from civicgrid.campaigns.questions import PRESETS, form_text, parse_form_text

    typed = "实际居住人数 | 数字 | 必答\n\n房屋使用状况 | 自住/出租 | 必答\n燃气 | 是否 | 是→燃气安全隐患\n备注 | 文本"
    questions = parse_form_text(typed)
    assert [(q["key"], q["type"], q["required"]) for q in questions] == [
        ("residents", "number", True),
        ("q2", "choice", True),
        ("q3", "yes_no", False),
        ("q4", "text", False),
    ]
    assert questions[1]["choices"] == ["自住", "出租"] and questions[2]["hazard_when"] == "是"
    for bad, code in (
        ("备注", "form_line"),
        ("备注 | 日期", "form_line_type"),
        ("备注 | 文本 | 重要", "form_line_extra"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            parse_form_text(f"实际居住人数 | 数字\n{bad}")
        assert refused.value.code == code and "第2行" in refused.value.message
    for preset in PRESETS:  # each ready-made form, written as lines, reads back as the same questions
        again = parse_form_text(form_text(preset.questions))
        fields = ("label", "type", "required", "hazard_when", "hazard_category")
        assert [[q.get(f) or None for f in fields] for q in again] == [
            [q.get(f) or None for f in fields] for q in preset.questions
        ]
    houses(district, 2, IN_UNIT, "泰和路")
    campaign = launched(district, street_admin, questions=questions)
    assert get_campaign(district.session, district.system, campaign).questions[2]["hazard_category"]  # a code now
