"""Downloading the work report (工作总结): ``GET /reports/work-report?period=2025-H1&grid=370299001&format=docx``.

Formats: ``docx`` (Word, charts embedded), ``md`` (Markdown text without the charts) and ``zip`` (the Markdown with
its charts as PNG files). Only actors with the statistics permission (kpi.read) get a report, and only of a grid in
their scope; refusals are the usual Chinese error pages (403, 404, 422).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import Response

from civicgrid.http.deps import CSRF_CHECKED, ReadSession, SignedIn
from civicgrid.http.routing import session_router
from civicgrid.kpi.periods import parse_period
from civicgrid.org.roles import Permission
from civicgrid.reports.service import RenderedReport, ReportFormat, WorkReportRequest, parse_format, render, work_report

router = session_router(include_in_schema=False, dependencies=CSRF_CHECKED)


@router.get("/reports/work-report")
def work_report_download(
    request: Request,
    session: ReadSession,
    actor: SignedIn,
    period: str = "",
    grid: str = "",
    fmt: str = Query("docx", alias="format"),
) -> Response:
    actor.require(Permission.KPI_READ, "下载工作报告")
    report_format = parse_format(fmt)
    wanted = WorkReportRequest(
        parse_period(period), grid.strip() or None, with_charts=report_format is not ReportFormat.MD
    )
    document = work_report(session, actor, wanted, settings=request.app.state.settings)
    rendered = render(document, report_format)
    headers = {"Content-Disposition": content_disposition(rendered), "Cache-Control": "private, no-store"}
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)


def content_disposition(rendered: RenderedReport) -> str:
    """An attachment named in Chinese (RFC 6266 / RFC 5987 ``filename*``) with an ASCII name for old clients."""
    return f"attachment; filename=\"{rendered.ascii_file_name}\"; filename*=UTF-8''{quote(rendered.file_name, safe='')}"
