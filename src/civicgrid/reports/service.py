"""The work report as a service: who may have it, for which grid, and the file it becomes.

Adapters (``civicgrid report``, ``GET /reports/work-report``) parse their input, call ``work_report`` and hand the
document to ``render`` or ``write``; they never count or phrase anything themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.campaigns import progress as campaign_progress
from civicgrid.campaigns import service as campaign_service
from civicgrid.errors import InvalidInputError
from civicgrid.kpi.dashboard import build_dashboard
from civicgrid.kpi.periods import BEIJING, Period
from civicgrid.kpi.recurring import DEFAULT_MIN_CASES, recurring_problems
from civicgrid.kpi.service import KpiQuery, scope_root
from civicgrid.org.actor import Actor
from civicgrid.org.models import Department
from civicgrid.org.roles import Permission
from civicgrid.registry import stats as registry_stats
from civicgrid.reports.document import Document
from civicgrid.reports.to_docx import to_docx
from civicgrid.reports.to_markdown import image_file_name, to_markdown
from civicgrid.reports.work_report import compose
from civicgrid.settings import Settings

MAX_MIN_REPEATS = 1000


class ReportFormat(StrEnum):
    DOCX = "docx"  # Word, charts embedded
    MD = "md"  # Markdown; written to disk with its charts as PNGs beside it, downloaded without them
    ZIP = "zip"  # the Markdown and its charts in one archive (the download that keeps the charts)

    @property
    def media_type(self) -> str:
        return {
            "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "md": "text/markdown; charset=utf-8",
            "zip": "application/zip",
        }[self.value]


def parse_format(text: str, allowed: tuple[ReportFormat, ...] = tuple(ReportFormat)) -> ReportFormat:
    value = (text or "").strip().lower()
    if value not in {fmt.value for fmt in allowed}:
        names = "、".join(fmt.value for fmt in allowed)
        raise InvalidInputError(
            f"不支持的报告格式“{text}”，可选：{names}", code="invalid_report_format", detail={"format": text}
        )
    return ReportFormat(value)


@dataclass(frozen=True)
class WorkReportRequest:
    period: Period
    grid_code: str | None = None  # None: the top of the actor's scope
    with_charts: bool = True
    min_repeats: int = DEFAULT_MIN_CASES  # 突出问题: cases of one kind in one grid before it is called recurring


def work_report(
    session: Session,
    actor: Actor,
    request: WorkReportRequest,
    *,
    now: dt.datetime | None = None,
    settings: Settings | None = None,
) -> Document:
    """The work report of a grid for a period. Refused without the statistics permission (kpi.read), for a grid
    the actor does not see (not found), and for a grid she sees but does not cover (an ancestor of her scope: its
    report would count only her part of it under its name)."""
    actor.require(Permission.KPI_READ, "生成工作报告")
    if not 1 <= request.min_repeats <= MAX_MIN_REPEATS:
        raise InvalidInputError(
            f"“突出问题”的件数门槛应在1到{MAX_MIN_REPEATS}之间",
            code="invalid_min_repeats",
            detail={"min_repeats": request.min_repeats},
        )
    root = scope_root(session, actor, request.grid_code)
    actor.require_grid(root.code, "生成该网格的工作报告")
    dashboard = build_dashboard(session, actor, KpiQuery(request.period, root.code), now=now, settings=settings)
    recurring = recurring_problems(session, actor, dashboard.query, min_cases=request.min_repeats)
    groundwork = groundwork_sentences(session, actor, root.code, request.period, dashboard.counted_at)
    return compose(
        dashboard,
        recurring,
        min_repeats=request.min_repeats,
        with_charts=request.with_charts,
        groundwork=groundwork,
        departments=department_names(session, [entry.case.main_department_id for entry in dashboard.overdue_longest]),
    )


def department_names(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    """Department names by id (the overdue cases' main departments, which the drafted 存在问题 names)."""
    wanted = {department_id for department_id in ids if department_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted))).all()
    return {int(department_id): str(name) for department_id, name in rows}


def groundwork_sentences(
    session: Session, actor: Actor, code: str, period: Period, counted_at: dt.datetime
) -> list[str]:
    """The registry of the grid as it stands, and each campaign under way in the period, counted within the grid —
    for an actor who may read the registry (else nothing)."""
    if not actor.has(Permission.REGISTRY_READ):
        return []
    within = dataclasses.replace(actor, grid_codes=(code,))
    sentences = []
    view = registry_stats.overview(session, within, code)
    if any(view.total.values()):
        sentences.append(registry_stats.summary_sentence(view))
    today = counted_at.astimezone(BEIJING).date()
    for campaign in campaign_service.list_campaigns(session, within):
        if campaign.created_at < period.end_utc and campaign.deadline >= period.start_utc:
            progress = campaign_progress.progress(session, within, campaign)
            if progress.total:
                sentences.append(campaign_progress.summary_sentence(progress, today=today))
    return sentences


@dataclass(frozen=True)
class RenderedReport:
    file_name: str  # 海川街道2025年上半年工作总结.docx
    ascii_file_name: str  # work-report-370299001-2025-H1.docx
    media_type: str
    content: bytes


def render(document: Document, fmt: ReportFormat) -> RenderedReport:
    """The report as one file to download. Markdown alone carries no charts (see ``ReportFormat``)."""
    match fmt:
        case ReportFormat.DOCX:
            content = to_docx(document)
        case ReportFormat.MD:
            content = to_markdown(document).encode("utf-8")
        case ReportFormat.ZIP:
            content = _markdown_archive(document)
    extension = fmt.value
    return RenderedReport(
        f"{document.file_stem}.{extension}", f"{document.ascii_stem}.{extension}", fmt.media_type, content
    )


def _markdown_archive(document: Document) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stem = document.ascii_stem
        text = to_markdown(document, lambda figure: image_file_name(stem, figure))
        archive.writestr(f"{stem}.md", text.encode("utf-8"))
        for figure in document.figures:
            archive.writestr(image_file_name(stem, figure), figure.png)
    return buffer.getvalue()


def default_path(document: Document, fmt: ReportFormat, directory: Path) -> Path:
    return directory / f"{document.file_stem}.{fmt.value}"


def write(document: Document, fmt: ReportFormat, path: Path) -> list[Path]:
    """Write the report to ``path`` (Markdown: with each chart as a PNG beside it, linked from the text); the
    files written, the report first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt is ReportFormat.DOCX:
        path.write_bytes(to_docx(document))
        return [path]
    if fmt is ReportFormat.ZIP:
        path.write_bytes(_markdown_archive(document))
        return [path]
    written = [path]
    for figure in document.figures:
        image = path.with_name(image_file_name(path.stem, figure))
        image.write_bytes(figure.png)
        written.append(image)
    path.write_text(to_markdown(document, lambda figure: image_file_name(path.stem, figure)), encoding="utf-8")
    return written
