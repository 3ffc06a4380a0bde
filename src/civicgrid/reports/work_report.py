"""The work report (工作总结) written from a dashboard: the sentences, tables and charts, in the register of the
street offices' own reports — “今年1-6月，共受理群众诉求X件，其中12345热线X件……办结率X%，同比提高X个百分点”.

Every figure comes from the dashboard's ``Group`` values (the KPI module's indicators) and is formatted by
``kpi.metrics.format_value``: the report restates the KPI module, it never counts or recomputes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from civicgrid.kpi.comparable import Basis
from civicgrid.kpi.dashboard import Dashboard
from civicgrid.kpi.hotline import HOTLINE_RATES, hotline_channels_text
from civicgrid.kpi.metrics import INDICATORS, Unit
from civicgrid.kpi.ranking import MIN_CASES_TO_RANK, HonourLists, OverdueCase, Ranked
from civicgrid.kpi.recurring import RecurringProblem
from civicgrid.kpi.service import Group
from civicgrid.reports import charts, draft, phrasing
from civicgrid.reports.document import Block, Column, Document, Figure, Heading, Paragraph, ParagraphKind, Table
from civicgrid.reports.phrasing import cell, compared_with, joined, stated, with_unit

SECTIONS = (
    "总体情况",
    "分类别情况",
    "分网格情况",
    "部门考核",
    "超期督办",
    "突出问题",
    "基础信息与摸排走访",  # only with the registry's or the campaigns' sentences
    "存在问题",  # drafted: the office rewrites it
    "下步打算",  # drafted: one answer per problem
)
NUMERALS = "一二三四五六七八九十"
TOP_GROUPS = 3  # how many categories / grids the text names as the largest
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
TITLE_SUFFIX = "网格化服务管理工作总结"
EXPLAINED = ("closure_rate", "on_time_closure_rate", "satisfaction_rate", "composite_score")


@dataclass
class _Writer:
    """Collects blocks and numbers the tables and figures in order (表1, 图1 …)."""

    blocks: list[Block] = field(default_factory=list)
    tables: int = 0
    figures: int = 0
    sections: int = 0

    def section(self, name: str, note: str = "") -> None:
        """The next level-1 heading, numbered 一、二、… in the order written (a section left out leaves no gap)."""
        self.sections += 1
        self.blocks.append(Heading(f"{NUMERALS[self.sections - 1]}、{name}", 1, note))

    def paragraph(self, text: str, kind: ParagraphKind = ParagraphKind.BODY) -> None:
        self.blocks.append(Paragraph(text, kind))

    def next_table(self) -> str:
        return f"表{self.tables + 1}"

    def table(self, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], note: str = "") -> None:
        self.tables += 1
        self.blocks.append(Table(f"表{self.tables} {title}", tuple(columns), tuple(tuple(r) for r in rows), note))

    def next_figure(self) -> str:
        return f"图{self.figures + 1}"

    def figure(self, title: str, name: str, draw: Callable[[str], bytes]) -> None:
        self.figures += 1
        caption = f"图{self.figures} {title}"
        self.blocks.append(Figure(caption, name, draw(title)))


def compose(
    dashboard: Dashboard,
    recurring: Sequence[RecurringProblem],
    *,
    min_repeats: int,
    with_charts: bool = True,
    groundwork: Sequence[str] = (),
    departments: Mapping[int, str] | None = None,
) -> Document:
    """The whole report for one dashboard; ``with_charts=False`` leaves the figures out (no font needed);
    ``groundwork``: the registry's and the campaigns' sentences, a section of their own when there are any;
    ``departments``: the names of the overdue cases' main departments, for the drafted 存在问题."""
    d = dashboard
    writer = _Writer()
    _overview(writer, d, with_charts)
    _categories(writer, d, with_charts)
    _grids(writer, d)
    _departments(writer, d)
    _overdue(writer, d)
    _recurring(writer, recurring, min_repeats)
    if groundwork:
        writer.section(SECTIONS[6])
        for sentence in groundwork:
            writer.paragraph(sentence)
    _drafted(writer, draft.findings(d, recurring, departments or {}, min_repeats=min_repeats), d)
    _explanations(writer)
    scope_period = f"{d.scope_name}{d.period.label}"
    return Document(
        title=f"{scope_period}{TITLE_SUFFIX}",
        title_lines=(scope_period, TITLE_SUFFIX),
        file_stem=file_safe(f"{scope_period}工作总结"),
        ascii_stem=f"work-report-{d.scope_code}-{d.period.key}",
        counted_at=d.counted_at,
        lead=(
            f"（{phrasing.counted_at_text(d.counted_at)}）",
            f"统计范围：{d.scope_name}（网格代码{d.scope_code}）；统计口径：期内受理的案件，按统计时的办理状态计。",
        ),
        blocks=tuple(writer.blocks),
    )


def file_safe(name: str) -> str:
    """A grid's name as part of a file name: characters no file system takes (/ \\ : * ? " < > | and control
    characters) become “_”."""
    return _UNSAFE_IN_FILE_NAMES.sub("_", name).strip(" .") or "工作总结"


# --- 一、总体情况 ---------------------------------------------------------------------------------------------


def _overview(writer: _Writer, d: Dashboard, with_charts: bool) -> None:
    writer.section(SECTIONS[0])
    values = d.comparison.current.values
    if not values["received"]:
        opening = phrasing.period_opening(d.period, d.counted_at)
        writer.paragraph(f"{opening}，{d.scope_name}未受理群众诉求。")
        return
    writer.paragraph(headline_sentence(d))
    writer.paragraph(three_rates_sentence(d))
    writer.paragraph(efficiency_sentence(values))
    writer.paragraph(backlog_sentence(values))
    if with_charts:
        title = f"{d.period.label}受理量与办结率趋势（按{_bucket_unit(d.trend)}）"
        writer.figure(title, "trend", lambda text: charts.trend_chart(d.trend, text))


def _bucket_unit(trend: Sequence[Group]) -> str:
    """The trend's buckets are months ('2025-06') or, for a month or less, days ('2025-06-15')."""
    return "日" if any((group.key or "").count("-") == 2 for group in trend) else "月"


def headline_sentence(d: Dashboard) -> str:
    """今年1-6月，海川街道共受理群众诉求X件，同比增长X%，环比下降X%，其中12345热线X件、……；立案X件，……"""
    compared = d.comparison
    now = compared.current.values
    ring = compared.previous_period != compared.last_year_period  # a year's 环比 is its 同比
    bases = [Basis.LAST_YEAR, Basis.PREVIOUS] if ring else [Basis.LAST_YEAR]

    def changes(key: str, *, first: bool = False) -> str | None:
        """The figure's changes; the first figure also says which comparison there is no data for."""
        if first and len(bases) == 2 and not any(compared.comparable(basis) for basis in bases):
            return "上年同期和上期均无可比数据"
        return joined([compared_with(compared, key, basis, say_unavailable=first) for basis in bases]) or None

    opening = phrasing.period_opening(d.period, d.counted_at)
    channels = "、".join(f"{g.label}{with_unit(g.values['received'], Unit.CASES)}" for g in d.by_channel)
    received = joined(
        [
            f"{opening}，{d.scope_name}共受理群众诉求{with_unit(now['received'], Unit.CASES)}",
            changes("received", first=True),
            f"其中{channels}" if channels else None,
        ]
    )
    registered = f"立案{with_unit(now['registered'], Unit.CASES)}，{stated(now, 'registration_rate')}"
    dispatched = f"派遣部门处置{with_unit(now['dispatched'], Unit.CASES)}，{stated(now, 'linked', '联动事件')}"
    closed = joined(
        [
            f"办结{with_unit(now['closed'], Unit.CASES)}",
            _with_change(stated(now, "closure_rate"), changes("closure_rate")),
            stated(now, "on_time_closure_rate"),
        ]
    )
    rated = f"已评价{with_unit(compared.current.figures.counts.rated, Unit.CASES)}"
    satisfied = f"群众{stated(now, 'satisfaction_rate')}（{joined([rated, changes('satisfaction_rate')])}）"
    return "；".join([received, registered, dispatched, closed, satisfied]) + "。"


def _with_change(text: str, change: str | None) -> str:
    return f"{text}（{change}）" if change else text


def three_rates_sentence(d: Dashboard) -> str:
    """按“三率”考核口径，热线诉求（12345热线、……）共X件，响应率X%、解决率X%、满意率X%；全部诉求综合得分X分（权重……）。
    The 三率 are the hotline's (``kpi.hotline``, as on the dashboard's card); the 综合得分 weighs every channel's."""
    values, weights = d.comparison.current.values, d.comparison.current.figures.weights
    shares = f"响应率{weights.response:g}%、解决率{weights.resolution:g}%、满意率{weights.satisfaction:g}%"
    score = f"{stated(values, 'composite_score')}（权重：{shares}）"
    if d.hotline is None:  # a dashboard made without the hotline's figures: the 三率 of every channel
        rates = "、".join(stated(values, key) for key in HOTLINE_RATES)
        return f"按“三率”考核口径，{rates}，{score}。"
    hotline = d.hotline.current
    if not hotline.figures.counts.received:
        return f"按“三率”考核口径，期内无热线诉求；全部诉求{score}。"
    counted = with_unit(hotline.figures.counts.received, Unit.CASES)
    rates = "、".join(stated(hotline.values, key) for key in HOTLINE_RATES)
    return f"按“三率”考核口径，热线诉求（{hotline_channels_text()}）共{counted}，{rates}；全部诉求{score}。"


def efficiency_sentence(values: phrasing.Values) -> str:
    """处置效率方面，平均处置时长X小时（工作时间，下同），中位数X小时，P90为X小时；返工率X%，……"""
    times = joined(
        [
            f"{stated(values, 'average_handle_hours')}（工作时间，下同）",
            stated(values, "median_handle_hours", "中位数"),
            stated(values, "p90_handle_hours", "P90为"),
        ]
    )
    rates = "，".join(
        stated(values, key) for key in ("rework_rate", "extension_rate", "self_handle_rate", "duplicate_rate")
    )
    return f"处置效率方面，{times}；{rates}。"


def backlog_sentence(values: phrasing.Values) -> str:
    overdue = with_unit(values["overdue_now"], Unit.CASES)
    ever = with_unit(values["ever_overdue"], Unit.CASES)
    suspended = with_unit(values["suspended"], Unit.CASES)
    return f"截至统计时，期内受理的案件中仍超期未办结{overdue}，曾超期{ever}，挂账{suspended}。"


# --- 二、分类别情况 / 三、分网格情况 ---------------------------------------------------------------------------


def _largest(groups: Sequence[Group]) -> str:
    named = [group for group in groups if group.key is not None][:TOP_GROUPS]
    return "、".join(f"{group.label}（{with_unit(group.values['received'], Unit.CASES)}）" for group in named)


CATEGORY_COLUMNS = (
    Column("类别"),
    Column("受理量（件）", True),
    Column("立案数（件）", True),
    Column("办结数（件）", True),
    Column("办结率", True),
    Column("按期办结率", True),
    Column("满意率", True),
    Column("超期数（件）", True),
)
CATEGORY_KEYS = ("received", "registered", "closed", "closure_rate", "on_time_closure_rate", "satisfaction_rate",
                 "overdue_now")  # fmt: skip


def _categories(writer: _Writer, d: Dashboard, with_charts: bool) -> None:
    writer.section(SECTIONS[1])
    if not d.by_category:
        writer.paragraph("期内无受理案件，不分类别列示。")
        return
    largest = _largest(d.by_category)
    figure = f"、{writer.next_figure()}" if with_charts else ""
    opening = f"从问题类别看，受理量居前的是{largest}" if largest else "期内受理的案件均未分类"
    writer.paragraph(f"{opening}，各类别办理情况见{writer.next_table()}{figure}。")
    rows = [[group.label, *(cell(group.values, key) for key in CATEGORY_KEYS)] for group in d.by_category]
    rows.append(["合计", *(cell(d.comparison.current.values, key) for key in CATEGORY_KEYS)])
    writer.table("分类别情况", CATEGORY_COLUMNS, rows, note="注：类别按一级分类统计，未立案或未分类的计入“未分类”。")
    if with_charts:
        title = f"{d.period.label}各类别受理量"
        writer.figure(title, "categories", lambda text: charts.category_chart(d.by_category, text))


GRID_COLUMNS = (
    Column("网格"),
    Column("受理量（件）", True),
    Column("办结数（件）", True),
    Column("办结率", True),
    Column("按期办结率", True),
    Column("满意率", True),
    Column("综合得分", True),
    Column("排名", True),
)
GRID_KEYS = ("received", "closed", "closure_rate", "on_time_closure_rate", "satisfaction_rate", "composite_score")


def _grids(writer: _Writer, d: Dashboard) -> None:
    writer.section(SECTIONS[2])
    if not d.by_grid:
        writer.paragraph(f"期内{d.scope_name}各网格均无受理案件。")
        return
    writer.paragraph(f"按{d.scope_name}下辖网格统计，受理量居前的是{_largest(d.by_grid)}，详见{writer.next_table()}。")
    ranks = _ranks(d.grid_ranking)
    rows = [
        [group.label, *(cell(group.values, key) for key in GRID_KEYS), ranks.get(group.key, "—")] for group in d.by_grid
    ]
    rows.append(["合计", *(cell(d.comparison.current.values, key) for key in GRID_KEYS), "—"])
    writer.table(
        "分网格情况", GRID_COLUMNS, rows, note=f"注：排名按综合得分，受理不足{MIN_CASES_TO_RANK}件的网格不参与排名。"
    )
    writer.paragraph(honour_sentence("网格", d.grid_lists))


def _ranks(ranking: Sequence[Ranked]) -> dict[str | None, str]:
    return {entry.group.key: str(entry.rank) for entry in ranking if entry.rank is not None}


def honour_sentence(kind: str, lists: HonourLists, counted: str = "受理") -> str:
    """按综合得分，部门红榜：A（85.0分）、B（82.5分）；部门黑榜：C（60.0分）。"""
    if not lists.red:
        return f"本期没有{kind}达到参与排名的条件（{counted}不少于{MIN_CASES_TO_RANK}件），不设红黑榜。"
    red = "、".join(_honoured(entry) for entry in lists.red)
    if not lists.black:
        return f"按综合得分，{kind}红榜：{red}。参与排名的{kind}较少，本期不设黑榜。"
    black = "、".join(_honoured(entry) for entry in lists.black)
    return f"按综合得分，{kind}红榜：{red}；{kind}黑榜：{black}。"


def _honoured(entry: Ranked) -> str:
    return f"{entry.group.label}（{with_unit(entry.value, Unit.SCORE)}）"


# --- 四、部门考核 -------------------------------------------------------------------------------------------------

DEPARTMENT_COLUMNS = (
    Column("名次", True),
    Column("部门"),
    Column("主办（件）", True),
    Column("协办（件）", True),
    Column("办结率", True),
    Column("按期办结率", True),
    Column("响应率", True),
    Column("解决率", True),
    Column("满意率", True),
    Column("综合得分", True),
)
DEPARTMENT_KEYS = ("closure_rate", "on_time_closure_rate", "response_rate", "resolution_rate", "satisfaction_rate",
                   "composite_score")  # fmt: skip


def _departments(writer: _Writer, d: Dashboard) -> None:
    writer.section(SECTIONS[3])
    if not d.department_ranking:
        writer.paragraph("期内无派遣部门处置的案件。")
        return
    writer.paragraph(
        "部门考核以主办案件计：案件计入统计时的主办部门，协办案件单列，不计入办结率和满意率；"
        f"主办不足{MIN_CASES_TO_RANK}件的部门和未派遣的案件不参与排名。按综合得分排名见{writer.next_table()}。"
    )
    rows = [
        [
            "—" if entry.rank is None else str(entry.rank),
            entry.group.label,
            cell(entry.group.values, "received"),
            phrasing.number(entry.group.assisted, Unit.CASES),
            *(cell(entry.group.values, key) for key in DEPARTMENT_KEYS),
        ]
        for entry in d.department_ranking
    ]
    writer.table("部门考核排名", DEPARTMENT_COLUMNS, rows)
    writer.paragraph(honour_sentence("部门", d.department_lists, counted="主办"))


# --- 五、超期督办 -------------------------------------------------------------------------------------------------

OVERDUE_COLUMNS = (
    Column("序号", True),
    Column("案件编号"),
    Column("问题", wraps=True),
    Column("类别"),
    Column("本环节期限"),
    Column("已超期（天）", True),
)


def _overdue(writer: _Writer, d: Dashboard) -> None:
    writer.section(SECTIONS[4])
    if not d.overdue_longest:
        writer.paragraph(f"截至统计时，{d.scope_name}无超期未办结案件。")
        return
    count = with_unit(len(d.overdue_longest), Unit.CASES)
    writer.paragraph(
        f"截至统计时，超期时间最长的{count}案件见{writer.next_table()}（不限受理期间），请责任部门加快办理，"
        "指挥中心跟踪督办。"
    )
    rows = [_overdue_row(position, entry) for position, entry in enumerate(d.overdue_longest, start=1)]
    writer.table("超期案件督办清单", OVERDUE_COLUMNS, rows)


def _overdue_row(position: int, entry: OverdueCase) -> list[str]:
    case = entry.case
    return [
        str(position),
        case.number,
        case.title,
        case.category.name if case.category else "未分类",
        phrasing.beijing_minute(entry.overdue_since),
        phrasing.number(entry.overdue_days, Unit.HOURS),  # one decimal, as every non-count figure
    ]


# --- 六、突出问题 -------------------------------------------------------------------------------------------------


def _recurring(writer: _Writer, recurring: Sequence[RecurringProblem], min_repeats: int) -> None:
    writer.section(SECTIONS[5])
    threshold = with_unit(min_repeats, Unit.CASES)
    if not recurring:
        writer.paragraph(f"期内未发现同一网格同类问题达到{threshold}及以上的情况。")
        return
    writer.paragraph(
        f"期内同一网格同类问题达到{threshold}及以上的有{draft.places_text(recurring)}，按件数排列如下，"
        "建议相关部门从源头治理、建立长效机制："
    )
    for position, problem in enumerate(recurring, start=1):
        writer.paragraph(f"{position}. {problem.sentence}，如案件{problem.example_number}。", ParagraphKind.ITEM)


# --- 存在问题 / 下步打算 (drafted) -----------------------------------------------------------------------------


def _drafted(writer: _Writer, found: Sequence[draft.Finding], d: Dashboard) -> None:
    writer.section(SECTIONS[7], draft.DRAFT_NOTE)
    for text in draft.problem_paragraphs(found, int(d.comparison.current.values["received"] or 0)):
        writer.paragraph(text, ParagraphKind.DRAFT)
    writer.section(SECTIONS[8], draft.DRAFT_NOTE)
    for text in draft.plan_paragraphs(found):
        writer.paragraph(text, ParagraphKind.DRAFT)


def _explanations(writer: _Writer) -> None:
    formulas = "；".join(INDICATORS[key].formula.rstrip("。") for key in EXPLAINED)
    writer.paragraph(
        f"说明：本报告由平台根据期内受理的案件自动生成，“{SECTIONS[7]}”“{SECTIONS[8]}”为系统根据数据起草的初稿，"
        f"请结合实际修改。{formulas}。",
        ParagraphKind.NOTE,
    )
