"""Hotline bulk import: real TipDM messages, Excel exports, broken rows, re-runs, crashes and resumption.

Batches commit, so the database tests run on a committed database of their own (SQLite and PostgreSQL).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from civicgrid import migrate, timesource
from civicgrid.cases import hotline_import
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.hotline_import import (
    ColumnMapping,
    HotlineImportResult,
    clean_block,
    clean_line,
    import_hotline_file,
    parse_mapping,
    parse_time,
)
from civicgrid.cases.intake import intake
from civicgrid.cases.models import Case, Channel, ImportRowError, ImportRun, Placement
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.errors import InvalidInputError, PermissionDeniedError
from civicgrid.geo.coords import wgs84_to_gcj02
from civicgrid.org.actor import Actor
from civicgrid.org.service import actor_for, get_user
from civicgrid.settings import Settings
from civicgrid.tables import read_table

from .conftest import DISTRICT, IN_UNIT, UNIT, _departments, _grid, _people, beijing

SAMPLE = Path(__file__).parents[1] / "data" / "real" / "appeals_sample.csv"
SAMPLE_ROWS = 156
TIPDM = "title=留言主题, description=留言详情, source_id=留言编号, reported_at=留言时间, reporter_name=留言用户"
UTC = dt.UTC
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


# ----------------------------------------------------------------------------------------------- pure parts


def test_parse_mapping_from_text_and_dict_and_its_refusals() -> None:
    mapping = parse_mapping(TIPDM + "；time_format=%Y/%m/%d %H:%M:%S")
    assert mapping.title == "留言主题" and mapping.source_id == "留言编号"
    assert mapping.time_format == "%Y/%m/%d %H:%M:%S"
    assert mapping.columns()["reporter_name"] == "留言用户"
    assert parse_mapping({"标题": "主题", "经度": "X", "纬度": "Y", "坐标系": "高德"}).crs == "gcj02"
    with pytest.raises(InvalidInputError, match="不认识的映射项“titel”") as unknown:
        parse_mapping("titel=主题")
    assert unknown.value.code == "unknown_mapping_key"
    with pytest.raises(InvalidInputError, match="重复出现"):
        parse_mapping("title=a,标题=b")
    with pytest.raises(InvalidInputError, match="缺少“=”"):
        parse_mapping("title")
    with pytest.raises(InvalidInputError, match="至少要指定标题"):
        parse_mapping("reported_at=时间")
    with pytest.raises(InvalidInputError, match="未声明坐标系") as no_crs:
        parse_mapping("title=a,lon=x,lat=y")
    assert no_crs.value.code == "missing_crs"
    with pytest.raises(InvalidInputError, match="须同时指定"):
        ColumnMapping(title="a", lon="x")


@pytest.mark.parametrize(
    "value",
    [
        "2019/2/28 11:25:05",
        "2019-02-28 11:25:05",
        " 2019-02-28T11:25:05+08:00 ",
        "2019-02-28T03:25:05Z",
        "20190228112505",
        "２０１９年２月２８日　１１：２５：０５",  # full-width, as typed in Chinese IMEs
        "2019年2月28日 11时25分05秒",
        dt.datetime(2019, 2, 28, 11, 25, 5),  # an Excel date cell (naive, local)
        43524.47575231481,  # the same moment as an Excel serial number
    ],
)
def test_times_in_many_formats_are_beijing_time_stored_in_utc(value: Any) -> None:
    assert parse_time(value, SHANGHAI) == dt.datetime(2019, 2, 28, 3, 25, 5, tzinfo=UTC)


def test_minutes_only_custom_formats_and_refusals() -> None:
    assert parse_time("2019年2月28日 11:25", SHANGHAI) == dt.datetime(2019, 2, 28, 3, 25, tzinfo=UTC)
    assert parse_time("28/02/2019 11h25", SHANGHAI, "%d/%m/%Y %Hh%M") == dt.datetime(2019, 2, 28, 3, 25, tzinfo=UTC)
    for bad in ("2019/13/45 10:00", "昨天下午", "43524.5"):
        with pytest.raises(InvalidInputError, match="无法识别的反映时间") as refused:
            parse_time(bad, SHANGHAI)
        assert refused.value.code == "invalid_time"


def test_cleaning_removes_excel_and_html_artefacts() -> None:
    scraped = "\n\t\t\t\t\t\n\t\t\t\t\t\u3000\u3000小区门口_x000D_\n垃圾堆积，\t\t无人清运。_x000D_\n\n\t\t"
    assert clean_block(scraped) == "小区门口\n垃圾堆积， 无人清运。"
    assert clean_line(" 关于\u3000小区\n垃圾_x000D_ 的\x00问题 ") == "关于 小区 垃圾 的 问题"


def test_reading_csv_keeps_spreadsheet_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    content = '\ufeff 编号 ,内容\r\n1,"第一行\r\n第二行"\r\n\r\n,\r\n2,正文\r\n'
    path.write_bytes(content.encode("utf-8"))
    table = read_table(path)
    assert table.header == ("编号", "内容")  # BOM and blanks gone
    assert table.rows == [(2, ("1", "第一行\r\n第二行")), (5, ("2", "正文"))]  # rows 3 and 4 are empty


# ----------------------------------------------------------------------------------------------- a committed district


@dataclass
class Db:
    engine: Engine
    factory: sessionmaker[Session]
    settings: Settings

    def run(self, path: Path, mapping: ColumnMapping | str = TIPDM, **options: Any) -> HotlineImportResult:
        options.setdefault("channel", Channel.MESSAGE_BOARD)
        return import_hotline_file(
            self.engine,
            options.pop("loader", hotline),
            path,
            mapping=parse_mapping(mapping) if isinstance(mapping, str) else mapping,
            settings=self.settings,
            **options,
        )

    def count(self, model: type[Any], *where: Any) -> int:
        with self.factory() as session:
            return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

    def cases(self, *where: Any) -> list[Case]:
        with self.factory() as session:
            return list(session.execute(select(Case).where(*where).order_by(Case.id)).scalars())


def hotline(session: Session) -> Actor:
    return actor_for(session, get_user(session, "hotline"))


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Db]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine, write=True)
    system = Actor.system("测试")
    with timesource.pinned(beijing(2025, 10, 9, 10, 0)):
        with transaction(factory) as session:
            _grid(session, system)
            _departments(session, system)
            install_defaults(session, system)
            _people(session, system)
        yield Db(engine, factory, Settings(var_dir=tmp_path / "var", database_url=database_url))
    engine.dispose()


def _sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _first_rows(path: Path, count: int) -> Path:
    header, rows = _sample_rows()
    return _write_csv(path, header, rows[:count])


def _source_ids_are_unique(db: Db) -> bool:
    with db.factory() as session:
        total, distinct = session.execute(select(func.count(), func.count(func.distinct(Case.source_id)))).one()
    return bool(total == distinct)


# ----------------------------------------------------------------------------------------------- the real sample


def test_the_real_sample_imports_cleaned_and_a_rerun_creates_nothing(db: Db) -> None:
    result = db.run(SAMPLE)
    assert (result.total_rows, result.created, result.duplicates, result.rejected) == (SAMPLE_ROWS, SAMPLE_ROWS, 0, [])
    assert result.finished and not result.already_imported
    assert result.summary() == "appeals_sample.csv（网络留言）：共156行，新增案件156件，重复0行，拒绝0行。导入完成"
    cases = {case.source_id: case for case in db.cases()}
    first = cases["2549"]  # '2019/4/25 9:32:09' Beijing time
    assert first.reported_at == dt.datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)
    assert first.title == "A2区景蓉华苑物业管理有问题"
    assert first.description.startswith("2019年4月以来，位于A市A2区桂花坪街道")  # scraped whitespace gone
    assert first.reporter_name == "A00045581"
    assert first.placement == Placement.NO_LOCATION.value and first.scope_code == DISTRICT  # the operator's grid
    assert first.number.startswith("20251009")  # the engine's numbering, on the (pinned) day of the import
    assert not any("_x000D_" in case.description or "\t" in case.description for case in cases.values())
    assert cases["2759"].reported_at == dt.datetime(2019, 4, 8, 0, 37, 20, tzinfo=UTC)  # '2019-04-08 08:37:20'

    again = db.run(SAMPLE)
    assert again.already_imported and again.created == SAMPLE_ROWS and again.run_id == result.run_id
    assert "此前已导入完毕" in again.summary()
    assert db.count(Case) == SAMPLE_ROWS
    assert db.count(ImportRun) == 1


def test_broken_rows_are_reported_by_row_number_and_the_good_rows_go_in(db: Db, tmp_path: Path) -> None:
    header, rows = _sample_rows()
    header.append("联系电话")
    rows = rows[:40]
    for row in rows:
        row["联系电话"] = "13812345678"
    rows[0]["留言主题"] = rows[0]["留言详情"] = "  \u3000 "  # row 2: nothing to say
    rows[3]["留言时间"] = "2019/13/45 10:00"  # row 5
    rows[4]["留言时间"] = "2030-01-01 08:00:00"  # row 6: in the future
    rows[5]["联系电话"] = "1381234abcd"  # row 7
    rows[6]["联系电话"] = "138****5678"  # row 8: masked
    rows[7]["留言时间"] = ""  # row 9
    rows[8]["留言主题"] = "很长的标题" * 50  # row 10: 250 characters, kept but cut
    rows[9]["留言编号"] = rows[10]["留言编号"]  # rows 11 and 12: the same message twice
    path = _write_csv(tmp_path / "broken.csv", header, rows)

    result = db.run(path, TIPDM + ",reporter_phone=联系电话", batch_size=16)
    rejected = {(r.row, r.code) for r in result.rejected}
    assert rejected == {
        (2, "empty_content"),
        (5, "invalid_time"),
        (6, "reported_in_future"),
        (7, "invalid_phone"),
        (8, "invalid_phone"),
        (9, "missing_time"),
    }
    reasons = {r.row: r.reason for r in result.rejected}
    assert reasons[5] == "无法识别的反映时间“2019/13/45 10:00”"
    assert reasons[6] == "反映时间2030-01-01 08:00晚于现在"
    assert reasons[7] == "电话号码“1381234abcd”格式不正确"  # intake's own rule, caught per row
    assert "已打码" in reasons[8]
    assert result.created == 40 - 6 - 1 and result.duplicates == 1
    assert result.warnings == ["第10行：标题有250个字，超过200字，已截断"]
    (long,) = db.cases(Case.title.like("很长的标题%"))
    assert len(long.title) == 200 and long.title.endswith("…")
    assert db.count(Case) == result.created
    with db.factory() as session:  # case numbers are consecutive: rows refused by intake used none
        numbers = sorted(int(n[-6:]) for n in session.execute(select(Case.number)).scalars())
    assert numbers == list(range(1, result.created + 1))
    assert db.count(ImportRowError) == 6
    with db.factory() as session:
        run = session.execute(select(ImportRun)).scalar_one()
        assert (run.status, run.next_row, run.created, run.duplicates, run.rejected) == (
            "finished",
            40,
            result.created,
            1,
            6,
        )


def test_a_row_with_four_problems_is_refused_for_all_four(db: Db, tmp_path: Path) -> None:
    header = ["留言编号", "留言用户", "留言主题", "留言详情", "留言时间", "联系电话", "类别"]
    rows = [
        {"留言编号": "M-1", "留言用户": "A00001", "留言主题": "", "留言详情": "", "留言时间": "昨天下午",
         "联系电话": "138****5678", "类别": "飞碟降落"},  # nothing to say, no time, a masked phone, no such category
        {"留言编号": "M-2", "留言用户": "A00002", "留言主题": "路口垃圾", "留言详情": "",
         "留言时间": "2025/10/8 9:00",
         "联系电话": "1381234abcd", "类别": "垃圾"},  # intake's own checks: a bad phone, a category fitting three
    ]  # fmt: skip
    path = _write_csv(tmp_path / "four.csv", header, rows)
    result = db.run(path, TIPDM + ",reporter_phone=联系电话,category_code=类别")
    first, second = sorted(result.rejected, key=lambda rejected: rejected.row)
    assert (first.row, first.code, second.row, second.code) == (2, "empty_content", 3, "category_ambiguous")
    for said in ("标题和内容均为空", "无法识别的反映时间“昨天下午”", "已打码", "没有找到类别“飞碟降落”"):
        assert said in first.reason, said
    assert "电话号码“1381234abcd”格式不正确" in second.reason and "垃圾桶破损" in second.reason
    assert result.created == 0


# ----------------------------------------------------------------------------------------------- Excel


def _workbook(path: Path) -> Path:
    gcj = wgs84_to_gcj02(*IN_UNIT)
    book = Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(["工单编号", "来电时间", "诉求标题", "诉求内容", "来电人", "来电号码", "经度", "纬度", "类别"])
    call = "张三", 13812345678
    sheet.append(["A-1", dt.datetime(2025, 9, 1, 8, 30), "井盖缺失", "泰和路_x000D_\n井盖丢了", *call, *gcj, "0101"])
    sheet.append(["A-2", "2025年9月2日 14:05", "路灯不亮", "华山路路灯不亮", None, None, None, None, None])
    landline = "李四", "0532-8888 6666"
    sheet.append(["A-3", dt.datetime(2025, 9, 3, 9, 0), "噪音扰民", "夜间施工", *landline, 420, 36.4, None])
    sheet.append([None] * 9)  # a blank line inside the data is skipped, not the end
    sheet.append(["A-4", dt.datetime(2025, 9, 4, 9, 0), "占道经营", "早市占道", None, None, *gcj, "9999"])
    sheet.append([4321.0, dt.datetime(2025, 9, 5, 9, 0), "垃圾", "垃圾满溢", None, None, *gcj, "01"])
    sheet.cell(row=60_000, column=1).font = Font(bold=True)  # a formatted cell far below: a bogus used range
    book.save(path)
    return path


def test_an_excel_export_with_date_cells_coordinates_and_a_bogus_used_range(db: Db, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "12345工单.xlsx")
    mapping = parse_mapping(
        "source_id=工单编号,reported_at=来电时间,title=诉求标题,description=诉求内容,reporter_name=来电人,"
        "reporter_phone=来电号码,lon=经度,lat=纬度,crs=gcj02,category_code=类别,sheet=工单"
    )
    result = db.run(path, mapping, channel=Channel.HOTLINE_12345)
    assert result.total_rows == 5
    assert {(r.row, r.code) for r in result.rejected} == {
        (4, "invalid_coordinates"),  # 420 is no longitude
        (6, "category_not_found"),  # refused by intake itself, inside its own savepoint
        (7, "category_not_leaf"),
    }
    assert result.created == 2
    first, second = db.cases(Case.channel == Channel.HOTLINE_12345.value)
    assert first.source_id == "A-1" and first.reported_at == dt.datetime(2025, 9, 1, 0, 30, tzinfo=UTC)
    assert first.description == "泰和路\n井盖丢了" and first.reporter_phone == "13812345678"
    assert first.placement == Placement.LOCATED.value and first.scope_code == UNIT
    assert first.category_id is not None
    assert second.reported_at == dt.datetime(2025, 9, 2, 6, 5, tzinfo=UTC)
    assert second.placement == Placement.NO_LOCATION.value


def test_without_a_source_id_column_the_row_content_keeps_reruns_idempotent(db: Db, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "export.xlsx")
    mapping = "reported_at=来电时间,title=诉求标题,description=诉求内容,reporter_phone=来电号码,sheet=工单"
    first = db.run(path, mapping, channel=Channel.HOTLINE_8890)
    assert (first.created, first.rejected) == (5, [])
    ids = [case.source_id or "" for case in db.cases()]
    assert all(i.startswith("row-sha1:") and len(i) == 49 for i in ids) and len(set(ids)) == 5
    # The same calls in another export (another file, rows reordered): no new case.
    book = Workbook()
    sheet = book.active
    sheet.append(["诉求标题", "来电时间", "诉求内容", "来电号码", "备注"])
    sheet.append(["路灯不亮", "2025/9/2 14:05:00", "华山路路灯不亮", None, "重复导出"])
    sheet.append(["井盖缺失", dt.datetime(2025, 9, 1, 8, 30), "泰和路\n井盖丢了", "13812345678", None])
    book.save(tmp_path / "export-again.xlsx")
    second = db.run(tmp_path / "export-again.xlsx", mapping.replace(",sheet=工单", ""), channel=Channel.HOTLINE_8890)
    assert (second.created, second.duplicates) == (0, 2)
    assert db.count(Case) == 5


# ----------------------------------------------------------------------------------------------- crashes


class CrashError(RuntimeError):
    pass


def test_a_crash_after_a_batch_resumes_where_it_stopped(db: Db, tmp_path: Path) -> None:
    path = _first_rows(tmp_path / "sixty.csv", 60)

    def crash_after_second_batch(done: int, total: int) -> None:
        if done == 30:
            raise CrashError

    with pytest.raises(CrashError):
        db.run(path, batch_size=15, progress=crash_after_second_batch)
    assert db.count(Case) == 30
    with db.factory() as session:
        run = session.execute(select(ImportRun)).scalar_one()
        assert (run.status, run.next_row, run.created) == ("running", 30, 30)

    seen: list[int] = []
    resumed = db.run(path, batch_size=15, progress=lambda done, total: seen.append(done))
    assert seen == [45, 60]  # only the rest was read again
    assert resumed.resumed_from_row == 32  # data row 31 is spreadsheet row 32
    assert "从第32行继续" in resumed.summary()
    assert (resumed.created, resumed.duplicates, resumed.rejected) == (60, 0, [])
    assert db.count(Case) == 60 and _source_ids_are_unique(db)


def test_a_crash_inside_a_batch_loses_only_that_batch(db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _first_rows(tmp_path / "sixty.csv", 60)
    real_intake = intake
    calls = {"n": 0}

    def dying_intake(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 38:  # the 8th row of the third batch
            raise CrashError("the process died")
        return real_intake(*args, **kwargs)

    monkeypatch.setattr(hotline_import, "intake", dying_intake)
    with pytest.raises(CrashError):
        db.run(path, batch_size=15)
    assert db.count(Case) == 30  # the third batch rolled back whole, with its progress
    monkeypatch.setattr(hotline_import, "intake", real_intake)
    resumed = db.run(path, batch_size=100)  # another batch size is fine: progress is a row index
    assert (resumed.created, resumed.duplicates) == (60, 0)
    assert db.count(Case) == 60 and _source_ids_are_unique(db)
    with db.factory() as session:  # the lost batch's case numbers were rolled back with it: no gaps
        numbers = sorted(int(n[-6:]) for n in session.execute(select(Case.number)).scalars())
    assert numbers == list(range(1, 61))


def test_rows_already_in_the_database_count_as_duplicates(db: Db, tmp_path: Path) -> None:
    # The first 25 rows arrived earlier in another file (another export of the same board).
    assert db.run(_first_rows(tmp_path / "first.csv", 25)).created == 25
    result = db.run(_first_rows(tmp_path / "later.csv", 40), batch_size=16)
    assert (result.created, result.duplicates) == (15, 25)
    assert db.count(Case) == 40


# ----------------------------------------------------------------------------------------------- refusals


def test_refusals_of_the_whole_file_write_nothing(db: Db, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="找不到列：内容→“详情”") as missing:
        db.run(SAMPLE, "title=留言主题,description=详情")
    assert missing.value.code == "missing_column" and "“留言详情”" in missing.value.message
    with pytest.raises(InvalidInputError, match="不适用于“网格员巡查”"):
        db.run(SAMPLE, channel=Channel.GRID_PATROL)

    def resident(session: Session) -> Actor:
        return actor_for(session, get_user(session, "resident"))

    with pytest.raises(PermissionDeniedError, match="不能受理“网络留言”"):
        db.run(SAMPLE, loader=resident)
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InvalidInputError, match=r"另存为 \.xlsx"):
        db.run(tmp_path / "old.xls")
    assert db.count(ImportRun) == 0 and db.count(Case) == 0


def test_a_resumed_run_keeps_its_mapping(db: Db, tmp_path: Path) -> None:
    def crash(done: int, total: int) -> None:
        raise CrashError

    path = _first_rows(tmp_path / "twenty.csv", 20)
    with pytest.raises(CrashError):
        db.run(path, batch_size=10, progress=crash)
    with pytest.raises(InvalidInputError, match="不同的列对应关系") as changed:
        db.run(path, "title=留言主题,description=留言详情,reported_at=留言时间")
    assert changed.value.code == "mapping_changed"
    assert db.run(path).created == 20


def test_a_gb18030_file_from_an_older_office_system(db: Db, tmp_path: Path) -> None:
    header, rows = _sample_rows()
    path = _write_csv(tmp_path / "gbk.csv", header, rows[:12], encoding="gb18030")
    assert path.read_bytes()[:4] == "留言".encode("gb18030")
    result = db.run(path)
    assert (result.created, result.rejected) == (12, [])
    assert db.cases(Case.source_id == "2549")[0].title == "A2区景蓉华苑物业管理有问题"


@pytest.mark.slow
def test_a_few_thousand_real_messages_with_broken_rows_in_between(db: Db, tmp_path: Path) -> None:
    """The real texts twenty times over (3,120 rows, new ids), one row in a hundred broken in one of three ways."""
    header, sample = _sample_rows()
    rows: list[dict[str, str]] = []
    broken: dict[int, str] = {}
    breakers = (
        ("empty_content", {"留言主题": "", "留言详情": " \u3000 "}),
        ("invalid_time", {"留言时间": "2019/02/30 25:61"}),
        ("missing_time", {"留言时间": ""}),
    )
    for copy in range(20):
        for row in sample:
            rows.append({**row, "留言编号": f"{copy}-{row['留言编号']}"})
            if len(rows) % 100 == 0:
                code, damage = breakers[len(rows) // 100 % len(breakers)]
                rows[-1].update(damage)
                broken[len(rows) + 1] = code  # spreadsheet row: the header is row 1
    path = _write_csv(tmp_path / "messages.csv", header, rows)

    result = db.run(path, batch_size=400)
    assert result.total_rows == 3120 and result.finished
    assert {r.row: r.code for r in result.rejected} == broken
    assert result.created == 3120 - len(broken) == db.count(Case)
    assert _source_ids_are_unique(db)
    again = db.run(path)
    assert again.already_imported and db.count(Case) == result.created


def test_each_sheet_of_a_workbook_is_its_own_run(db: Db, tmp_path: Path) -> None:
    book = Workbook()
    january = book.active
    january.title = "一月"
    february = book.create_sheet("二月")
    for sheet, ids in ((january, ("J-1", "J-2")), (february, ("F-1",))):
        sheet.append(["工单编号", "来电时间", "诉求内容"])
        for source_id in ids:
            sheet.append([source_id, dt.datetime(2025, 9, 1, 8, 30), f"{sheet.title}的诉求"])
    path = tmp_path / "2025年工单.xlsx"
    book.save(path)
    mapping = "source_id=工单编号,reported_at=来电时间,description=诉求内容,sheet={}"
    first = db.run(path, mapping.format("一月"), channel=Channel.HOTLINE_12345)
    second = db.run(path, mapping.format("二月"), channel=Channel.HOTLINE_12345)
    assert (first.created, second.created, second.already_imported) == (2, 1, False)
    assert db.run(path, mapping.format("二月"), channel=Channel.HOTLINE_12345).already_imported
    assert db.count(ImportRun) == 2 and db.count(Case) == 3
