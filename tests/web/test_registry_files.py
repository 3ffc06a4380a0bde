"""批量导入 and exports in the workbench over the demo district: a grid worker downloads a template, uploads a file
with a broken row and gets the row report (nothing written), then keeps the good rows; lists export what their
filters show, people masked; a full export needs registry.reveal and a reason, and a form without a CSRF token is
refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select
from tests.web.conftest import Browser, point_in_grid_of

from civicgrid.audit import AuditEntry
from civicgrid.db import make_session_factory
from civicgrid.tables import read_table_bytes

SignedIn = Callable[[str], Browser]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_NUMBER = "370202198001011232"  # not one another web test registers: the demo database is shared


def people_csv(grid: str, name: str) -> bytes:
    return (
        "姓名,身份证号码,手机号码,居住类型,标签,网格代码\n"
        f"{name},{ID_NUMBER},13812345678,户籍,独居老人,{grid}\n"
        f"{name}乙,110105194912310021,,常住,,{grid}\n"
    ).encode()


def upload(browser: Browser, kind: str, filename: str, content: bytes, status: int = 200, **form: str) -> str:
    response = browser.post("/registry/import", {"kind": kind, **form}, files={"file": (filename, content, "text/csv")})
    assert response.status_code == status, response.text
    return response.text


def test_a_grid_worker_imports_people_with_a_row_report(signed_in: SignedIn, demo_engine: Engine) -> None:
    worker = signed_in("gridworker")
    page = worker.get("/registry/import?kind=people")
    assert page.status_code == 200 and 'id="template-link"' in page.text and "单位/企业" in page.text
    template = worker.get("/registry/import/people/template.xlsx")
    assert template.headers["content-type"] == XLSX and template.content.startswith(b"PK")
    assert read_table_bytes(Path("t.xlsx"), template.content).header[0] == "姓名"
    grid = point_in_grid_of(demo_engine, "gridworker").code
    name = f"导入{uuid.uuid4().hex[:4]}"
    refused = upload(worker, "people", "人口.csv", people_csv(grid, name))
    assert "未写入任何数据" in refused and '<td data-label="行号">3</td>' in refused and "校验位错误" in refused
    assert name not in worker.get("/registry/people", params={"q": name}).text.split('id="registry-list"')[1]
    kept = upload(worker, "people", "人口.csv", people_csv(grid, name), keep_good="1")
    assert "已写入" in kept and "新增1" in kept
    listing = worker.get("/registry/people", params={"q": name})
    assert "3702**********1232" in listing.text and ID_NUMBER not in listing.text


def test_an_enterprise_sheet_from_the_template_goes_in(signed_in: SignedIn, demo_engine: Engine) -> None:
    worker = signed_in("gridworker")
    grid = point_in_grid_of(demo_engine, "gridworker").code
    name = f"网格测试公司{uuid.uuid4().hex[:4]}"
    sheet = f"名称,规模,行业门类,网格代码\n{name},规下,批发和零售业,{grid}\n坏行,巨型,,{grid}\n".encode()
    report = upload(worker, "enterprise", "单位.csv", sheet, keep_good="1")
    assert "新增1" in report and "规模“巨型”无法识别" in report
    exported = worker.get("/registry/enterprise/export.xlsx", params={"q": name})
    table = read_table_bytes(Path("e.xlsx"), exported.content)
    ((_, row),) = table.rows
    values = dict(zip(table.header, row, strict=False))
    assert values["名称"] == name and values["行业门类"] == "批发和零售业" and values["网格代码"] == grid


def test_a_bad_file_is_explained_and_a_form_without_csrf_is_refused(signed_in: SignedIn) -> None:
    worker = signed_in("gridworker")
    old_excel = upload(worker, "people", "旧表.xls", b"\xd0\xcf\x11\xe0rest", status=422)
    assert "不支持旧版 Excel 文件" in old_excel
    no_file = worker.post("/registry/import", {"kind": "estate"})
    assert no_file.status_code == 422 and "请选择要导入的文件" in no_file.text
    forged = worker.post(
        "/registry/import", {"kind": "people"}, csrf=False, files={"file": ("a.csv", b"x", "text/csv")}
    )
    assert forged.status_code == 403


def test_people_export_masked_and_in_full_only_with_a_reason(signed_in: SignedIn, demo_engine: Engine) -> None:
    worker = signed_in("gridworker")
    masked = worker.get("/registry/people/export.xlsx", params={"tag": "独居老人"})
    assert masked.status_code == 200 and masked.headers["content-type"] == XLSX
    table = read_table_bytes(Path("p.xlsx"), masked.content)
    id_column = table.header.index("身份证号码")
    shown = [row[id_column] for _, row in table.rows if row[id_column]]
    assert shown and all("*" in str(value) for value in shown)
    assert 'id="full-export"' not in worker.get("/registry/people").text
    assert worker.post("/registry/people/export.xlsx", {"reason": "核对"}).status_code == 403
    admin = signed_in("admin")
    assert 'id="full-export"' in admin.get("/registry/people").text
    no_reason = admin.post("/registry/people/export.xlsx", {"reason": "", "tag": "独居老人"})
    assert (no_reason.status_code == 422 and "事由" in no_reason.text) or "原因" in no_reason.text
    full = admin.post("/registry/people/export.xlsx", {"reason": "民政走访核对", "tag": "独居老人"})
    assert full.status_code == 200
    rows = read_table_bytes(Path("f.xlsx"), full.content).rows
    assert rows and any(row[id_column] and "*" not in str(row[id_column]) for _, row in rows)
    with make_session_factory(demo_engine)() as session:
        reasons = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "registry.people.export").order_by(AuditEntry.id)
        ).all()
    assert {"reason": "民政走访核对", "full": True}.items() <= reasons[-1].items()
