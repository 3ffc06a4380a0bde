"""The drafted 存在问题 and 下步打算 on cases driven through the real services: each kind of problem is stated when,
and only when, the data shows it, and each problem has its answer in the plan. A tidy half-year — 2025-Q2 and
2025-Q3, six cases each, two in each of three grids, answered, handled on time, verified and rated 满意 by one
department — shows none; each test adds what makes one kind appear. The clock stands at 2025-10-09 10:00."""

from __future__ import annotations

import datetime as dt

from tests.cases.conftest import IN_OTHER_UNIT, IN_UNIT, STREET, District, beijing
from tests.reports.conftest import BUILDING, COUNTED_AT, MINUTE, RUBBISH, act, reported

from civicgrid.cases.models import Case, Rating
from civicgrid.cases.tick import tick
from civicgrid.cases.workflow import Action
from civicgrid.kpi.metrics import Unit, format_value
from civicgrid.kpi.periods import parse_period
from civicgrid.kpi.ranking import longest_overdue
from civicgrid.org.actor import Actor
from civicgrid.org.roles import Role
from civicgrid.org.service import actor_for, create_user
from civicgrid.reports.document import Document, Heading, Paragraph, ParagraphKind
from civicgrid.reports.draft import DRAFT_NOTE
from civicgrid.reports.service import WorkReportRequest, work_report

IN_HUASHAN = (120.475, 36.45)  # 华山社区, which has no unit grids
PLACES = (IN_UNIT, IN_OTHER_UNIT, IN_HUASHAN)
# From the first days of 2025-Q2, so that Q2 is a comparable base for Q3 (kpi.comparable: data from its start, and
# at least ten cases).
TIDY_DAYS = tuple(beijing(2025, month, day, 9) for month, day in ((4, 1), (4, 15), (5, 13), (6, 10), (7, 8), (8, 12)))
NO_RECURRING = 50  # a threshold no place reaches, for the tests about something else
# The first sentence of each kind of problem (what the tests look for).
HEADINGS = {
    "fell": "有所下滑",
    "recurring": "同类问题在同一地点反复发生",
    "backlog": "积压",
    "suspended": "挂账案件尚未解决",
    "quality": "有待提高",
    "ranking": "部分单位考核排名靠后",
}


def staff(d: District, department: str) -> Actor:
    return {"HC-CG": d.street_cg, "CGJ": d.cgj, "SCJG": d.scjg}[department]


def handled(
    d: District,
    at: dt.datetime,
    point: tuple[float, float] = IN_UNIT,
    *,
    department: str = "HC-CG",
    handler: Actor | None = None,
    rating: Rating | None = Rating.SATISFIED,
    answered_after: dt.timedelta = 10 * MINUTE,
    rework: bool = False,
    category: str = RUBBISH,
) -> Case:
    """A case answered, dispatched, handled within the morning and verified by the command centre."""
    case = reported(d, at, point=point)
    answered = at + answered_after
    act(d, d.dispatcher, case, Action.REGISTER, answered, category_code=category)
    act(d, d.dispatcher, case, Action.DISPATCH, answered + 5 * MINUTE, main_department=department)
    worker = handler or staff(d, department)
    act(d, worker, case, Action.ACCEPT, answered + 20 * MINUTE)
    act(d, worker, case, Action.SUBMIT, answered + 60 * MINUTE, note="已处理")
    if rework:
        act(d, d.dispatcher, case, Action.VERIFY_FAIL, answered + 70 * MINUTE, note="未处理到位")
        act(d, worker, case, Action.SUBMIT, answered + 90 * MINUTE, note="已重新处理")
    act(d, d.dispatcher, case, Action.VERIFY_PASS, answered + 100 * MINUTE)
    if rating is not None:
        act(d, d.hotline, case, Action.RATE, answered + 120 * MINUTE, rating=rating)
    return case


def tidy(d: District) -> None:
    for day in TIDY_DAYS:
        for point in PLACES:
            handled(d, day, point)


def report_of(d: District, *, period: str = "2025-Q3", min_repeats: int = 3) -> Document:
    tick(d.session, now=COUNTED_AT, settings=d.settings)
    request = WorkReportRequest(parse_period(period), STREET, with_charts=False, min_repeats=min_repeats)
    return work_report(d.session, d.leader, request, settings=d.settings)


def drafted(document: Document, section: str) -> list[str]:
    """The section's paragraphs, every one drafted (the report's closing 说明 follows the last section)."""
    paragraphs = [block for block in document.section(section) if isinstance(block, Paragraph)]
    if paragraphs[-1].kind is ParagraphKind.NOTE:
        paragraphs.pop()
    assert paragraphs and all(paragraph.kind is ParagraphKind.DRAFT for paragraph in paragraphs), section
    return [paragraph.text for paragraph in paragraphs]


def problems(document: Document) -> list[str]:
    return drafted(document, "存在问题")[1:]  # after “……主要表现在：”


def plans(document: Document) -> list[str]:
    return drafted(document, "下步打算")[1:]


def kinds(document: Document) -> set[str]:
    return {kind for kind, words in HEADINGS.items() for text in problems(document) if words in text.split("。")[0]}


def test_a_tidy_period_says_honestly_that_the_data_shows_no_problem(district: District) -> None:
    d = district
    tidy(d)
    document = report_of(d)
    assert drafted(document, "存在问题") == [
        "从平台数据看，本期未发现指标下滑、同类问题反复发生、超期积压、返工或不满意评价、考核排名靠后等问题。"
        "其他方面存在的问题请结合实际工作补充。"
    ]
    assert drafted(document, "下步打算") == ["平台数据未显示需要专项整改的问题，下步打算请结合实际工作填写。"]
    headings = [block for block in document.blocks if isinstance(block, Heading) and block.level == 1]
    assert [(h.text, h.note) for h in headings[-2:]] == [("七、存在问题", DRAFT_NOTE), ("八、下步打算", DRAFT_NOTE)]
    assert all(not h.note for h in headings[:-2])


def test_a_period_without_cases_says_there_is_nothing_to_go_on(district: District) -> None:
    document = report_of(district)
    assert drafted(document, "存在问题") == ["期内未受理群众诉求，平台数据不足以分析存在的问题，请结合实际工作填写。"]


def test_an_indicator_that_fell_is_named_with_its_change_and_answered(district: District) -> None:
    d = district
    tidy(d)
    for point in PLACES:  # answered two days late: 响应率 falls from 100% (2025-Q2) to 66.7%
        handled(d, beijing(2025, 9, 16, 9), point, answered_after=dt.timedelta(days=2))
    document = report_of(d, min_repeats=NO_RECURRING)
    assert kinds(document) == {"fell"}
    (problem,) = problems(document)
    assert problem == "一是部分指标较上期有所下滑。响应率66.7%，环比下降33.3个百分点。"
    assert plans(document) == [
        "一是推动下滑指标回稳向好。逐项分析响应率下滑的原因，找准薄弱环节，明确责任科室和整改时限，力争下期改善。"
    ]


def test_no_fall_is_claimed_against_a_base_period_without_comparable_data(district: District) -> None:
    d = district
    for day in TIDY_DAYS[2:]:  # the data starts in mid-May: 2025-Q2 is not a base the headline compares with
        for point in PLACES:
            handled(d, day, point)
    for point in PLACES:
        handled(d, beijing(2025, 9, 16, 9), point, answered_after=dt.timedelta(days=2))
    document = report_of(d, min_repeats=NO_RECURRING)
    assert "fell" not in kinds(document)


def test_a_fall_needs_enough_cases_behind_both_figures(district: District) -> None:
    d = district
    handled(d, beijing(2025, 6, 10, 9))  # 2025-Q2: one case answered on time
    for day in (beijing(2025, 7, 8, 9), beijing(2025, 8, 12, 9)):
        for point in PLACES:
            handled(d, day, point, answered_after=dt.timedelta(days=2))
    assert "fell" not in kinds(report_of(d, min_repeats=NO_RECURRING))  # 100% → 0%, but on one case


def test_closure_is_not_compared_while_the_period_is_still_running(district: District) -> None:
    d = district
    tidy(d)
    for point in PLACES:  # 2025-Q4 has just begun: its cases are dispatched, not yet handled
        case = reported(d, beijing(2025, 10, 9, 8, 40), point=point)
        act(d, d.dispatcher, case, Action.REGISTER, beijing(2025, 10, 9, 8, 45), category_code=RUBBISH)
        act(d, d.dispatcher, case, Action.DISPATCH, beijing(2025, 10, 9, 8, 50), main_department="HC-CG")
    document = report_of(d, period="2025-Q4", min_repeats=NO_RECURRING)
    assert "fell" not in kinds(document)  # 办结率 0% against 100%, but nothing is late yet


def test_a_problem_recurring_in_one_grid_is_named_with_its_place_and_answered(district: District) -> None:
    d = district
    tidy(d)
    third = handled(d, beijing(2025, 9, 16, 9), IN_UNIT)
    handled(d, beijing(2025, 9, 16, 10), IN_HUASHAN, category=BUILDING)  # another kind of problem: no repeat
    document = report_of(d)
    assert kinds(document) == {"recurring"}
    assert problems(document) == [
        "一是同类问题在同一地点反复发生。期内同一网格同类问题达到3件及以上的有1处：泰和社区（泰和第01网格）"
        "暴露垃圾问题反复出现（3件），说明部分问题尚未从源头上解决。"
    ]
    assert plans(document)[0].startswith("一是抓好反复发生问题的源头治理。对泰和社区（泰和第01网格）暴露垃圾反复发生")
    assert third.number in "".join(b.text for b in document.section("突出问题") if isinstance(b, Paragraph))


def test_an_overdue_case_is_named_with_its_department_and_answered(district: District) -> None:
    d = district
    tidy(d)
    late = reported(d, beijing(2025, 9, 23, 9), point=IN_HUASHAN, title="路面塌陷未修复")
    act(d, d.dispatcher, late, Action.REGISTER, beijing(2025, 9, 23, 9, 10), category_code=RUBBISH)
    act(d, d.dispatcher, late, Action.DISPATCH, beijing(2025, 9, 23, 9, 15), main_department="CGJ")
    act(d, d.cgj, late, Action.ACCEPT, beijing(2025, 9, 23, 9, 30))  # and nothing more
    document = report_of(d, min_repeats=NO_RECURRING)
    assert "backlog" in kinds(document) and "suspended" not in kinds(document)
    (overdue,) = longest_overdue(d.session, d.leader, grid_code=STREET, now=COUNTED_AT)
    days = format_value(overdue.overdue_days, Unit.HOURS)
    backlog = next(text for text in problems(document) if "积压" in text)
    assert backlog.endswith(
        f"是超期案件仍有积压。截至统计时，超期最长的案件{late.number}（路面塌陷未修复）已超期{days}天，"
        "主办部门为区城市管理局。"
    )
    answer = next(text for text in plans(document) if "积压" in text)
    assert "对督办清单中的1件超期案件逐件挂牌督办，督促区城市管理局等主办部门明确办结时限、限期办结。" in answer
    assert problems(document).index(backlog) == plans(document).index(answer)  # answered in the same place


def test_a_suspended_case_is_stated_and_answered(district: District) -> None:
    d = district
    tidy(d)
    held = reported(d, beijing(2025, 9, 23, 9), point=IN_HUASHAN)
    act(d, d.dispatcher, held, Action.REGISTER, beijing(2025, 9, 23, 9, 10), category_code=RUBBISH)
    act(d, d.dispatcher, held, Action.DISPATCH, beijing(2025, 9, 23, 9, 15), main_department="HC-CG")
    act(d, d.street_cg, held, Action.ACCEPT, beijing(2025, 9, 23, 9, 30))
    act(d, d.street_cg, held, Action.REQUEST_SUSPENSION, beijing(2025, 9, 23, 10), note="待产权确认")
    act(d, d.leader, held, Action.APPROVE_SUSPENSION, beijing(2025, 9, 23, 10, 30))
    document = report_of(d, min_repeats=NO_RECURRING)
    assert kinds(document) == {"suspended"}  # a suspended case leaves 办结率's denominator: no fall
    assert problems(document) == ["一是挂账案件尚未解决。期内受理的案件中挂账1件，问题尚未解决。"]
    assert plans(document) == ["一是加快积压案件办理。对挂账的1件案件定期研判，具备条件的及时恢复办理。"]


def test_rework_is_stated_and_answered(district: District) -> None:
    d = district
    tidy(d)
    handled(d, beijing(2025, 9, 16, 9), IN_HUASHAN, rework=True)
    document = report_of(d, min_repeats=NO_RECURRING)
    assert "quality" in kinds(document)
    quality = next(text for text in problems(document) if "有待提高" in text)
    assert quality.endswith("是处置质量有待提高。期内办结的案件中核查不通过返工1件，返工率14.3%。")
    assert "不满意" not in quality
    assert any("对返工的1件案件逐件复盘，查找处置不到位的原因" in text for text in plans(document))


def test_a_dissatisfied_resident_is_stated_and_answered(district: District) -> None:
    d = district
    tidy(d)
    handled(d, beijing(2025, 9, 16, 9), IN_HUASHAN, rating=Rating.UNSATISFIED)
    document = report_of(d, min_repeats=NO_RECURRING)
    assert "quality" in kinds(document)
    quality = next(text for text in problems(document) if "有待提高" in text)
    assert quality.endswith("是群众满意度有待提高。已评价的7件中群众评价“不满意”1件，满意率85.7%。")
    assert any("对评价“不满意”的1件案件逐件回访" in text for text in plans(document))


def test_a_department_on_the_black_list_is_named_and_answered(district: District) -> None:
    d = district
    tidy(d)
    user = create_user(
        d.session,
        d.system,
        username="zjj",
        display_name="住建",
        roles=[Role.DEPT_STAFF],
        password=None,
        department_code="ZJJ",
    )
    handlers = {"HC-CG": d.street_cg, "CGJ": d.cgj, "SCJG": d.scjg, "ZJJ": actor_for(d.session, user)}
    for department, handler in handlers.items():
        for index in range(5):
            poor = department == "SCJG" and index < 2  # two of its five cases rated 不满意
            rating = Rating.UNSATISFIED if poor else Rating.SATISFIED
            day = beijing(2025, 9, 1 + index, 9)  # Monday to Friday
            handled(d, day, PLACES[index % 3], department=department, handler=handler, rating=rating)
    document = report_of(d, min_repeats=NO_RECURRING)
    assert "ranking" in kinds(document)
    ranking = next(text for text in problems(document) if "排名靠后" in text)
    assert "按综合得分，部门黑榜：区市场监督管理局（" in ranking
    assert "解决率60.0%）" in ranking  # its lowest rate (满意率 is as low; the first of the three is named)
    assert "网格黑榜" not in ranking  # two communities: too few to name a worst
    answer = next(text for text in plans(document) if "黑榜" in text)
    assert "对列入黑榜的区市场监督管理局，逐件分析失分案件" in answer
