"""The command line, end to end on a real database: exit codes and messages a person can act on."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from civicgrid.cli import app
from civicgrid.settings import get_settings

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("CIVICGRID_DATABASE_URL", database_url)
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture
def migrated(cli: CliRunner) -> CliRunner:
    result = run(cli, "db", "upgrade")
    assert result.exit_code == 0, result.output
    return cli


@pytest.fixture
def jimo(migrated: CliRunner) -> CliRunner:
    assert (
        run(
            migrated, "grid", "import", "table", str(REAL / "villages_4districts_2021.csv"), "--root", "370215"
        ).exit_code
        == 0
    )
    result = run(
        migrated,
        "grid",
        "import",
        "geojson",
        str(REAL / "370215_jimo_streets_osm.geojson"),
        "--crs",
        "wgs84",
        "--within",
        "370215",
    )
    assert result.exit_code == 0, result.output
    return migrated


def test_commands_refuse_an_unmigrated_database_with_the_fix(cli: CliRunner) -> None:
    result = run(cli, "grid", "tree")
    assert result.exit_code == 6
    assert "civicgrid db upgrade" in result.output


def test_db_upgrade_and_current(migrated: CliRunner) -> None:
    assert "最新" in run(migrated, "db", "current").output
    again = run(migrated, "db", "upgrade")
    assert again.exit_code == 0


def test_import_locate_check_export_on_real_jimo_data(jimo: CliRunner, tmp_path: Path) -> None:
    tree = run(jimo, "grid", "tree", "--root", "370215", "--depth", "2")
    assert "潮海街道" in tree.output
    assert "通济新经济区" in tree.output
    inside = run(jimo, "grid", "locate", "120.4535", "36.3887", "--crs", "wgs84")
    assert inside.exit_code == 0
    assert "即墨区" in inside.output
    outside = run(jimo, "grid", "locate", "121.5", "36.0", "--crs", "wgs84")
    assert outside.exit_code == 1
    assert "不在任何网格内" in outside.output
    assert "最近的网格" in outside.output
    check = run(jimo, "grid", "check", "--root", "370215")
    assert check.exit_code == 0, check.output
    target = tmp_path / "grid.geojson"
    exported = run(jimo, "grid", "export", "-o", str(target), "--level", "street")
    assert exported.exit_code == 0
    collection = json.loads(target.read_text("utf-8"))
    assert len(collection["features"]) == 15
    assert {f["properties"]["level"] for f in collection["features"]} == {"street"}


def test_batch_locate_keeps_every_row_and_flags_the_ones_it_cannot_place(jimo: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("id,lon,lat\n1,120.4535,36.3887\n2,121.5,36.0\n3,abc,36.0\n4,,\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    result = run(jimo, "grid", "locate", "--input", str(source), "--output", str(target))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(target.read_text("utf-8-sig").splitlines()))
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0]["status"] == "已定位"
    assert rows[0]["grid_path"].startswith("山东省 › 青岛市 › 即墨区")
    assert rows[1]["status"] == "网格外，待人工落图"
    assert rows[1]["nearest_code"]
    assert float(rows[1]["distance_m"]) > 0
    assert rows[2]["status"] == rows[3]["status"] == "坐标无效"


def test_a_bad_import_names_rows_exits_1_and_writes_nothing(migrated: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n370215,即墨区\n37021X,坏\n", encoding="utf-8")
    result = run(migrated, "grid", "import", "table", str(bad))
    assert result.exit_code == 1
    assert "第3行" in result.output
    assert "未写入任何数据" in result.output
    assert "还没有网格" in run(migrated, "grid", "tree").output
    kept = run(migrated, "grid", "import", "table", str(bad), "--keep-good")
    assert kept.exit_code == 1
    assert "已写入" in kept.output
    assert "即墨区" in run(migrated, "grid", "tree").output


def test_a_geojson_without_crs_is_refused_with_the_options(migrated: CliRunner, tmp_path: Path) -> None:
    result = run(migrated, "grid", "import", "geojson", str(REAL / "370215_jimo_district_datav.geojson"), "--crs", "")
    assert result.exit_code == 1
    assert "wgs84" in result.output


def test_generate_units_from_the_cli(migrated: CliRunner, tmp_path: Path) -> None:
    table = tmp_path / "streets.csv"
    rows = "code,name\n370215,即墨区\n370215001,环秀街道\n370215002,潮海街道\n370215002009,泰山社区\n"
    table.write_text(rows, encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    streets = str(REAL / "370215_jimo_streets_osm.geojson")
    boundaries = run(migrated, "grid", "import", "geojson", streets, "--crs", "wgs84", "--keep-good")
    assert boundaries.exit_code == 1  # 13 streets are not in this small tree: reported, the rest kept
    assert "未匹配" in boundaries.output
    no_boundary = run(migrated, "grid", "generate", "370215002009", "--count", "5")
    assert no_boundary.exit_code == 1
    assert "还没有边界" in no_boundary.output
    has_children = run(migrated, "grid", "generate", "370215002", "--count", "12")
    assert has_children.exit_code == 5
    assert "已有1个下级" in has_children.output
    generated = run(migrated, "grid", "generate", "370215001", "--count", "12")
    assert generated.exit_code == 0
    assert "已生成 12 个网格单元" in generated.output
    assert "370215001000012" in run(migrated, "grid", "tree", "--root", "370215001").output  # 12-digit padded base


def test_users_departments_and_assignments(migrated: CliRunner) -> None:
    assert run(migrated, "dept", "add", "CGJ", "--name", "区城市管理局").exit_code == 0
    assert run(migrated, "dept", "add", "CGJ", "--name", "重复").exit_code == 5
    added = run(
        migrated,
        "user",
        "add",
        "wanglei",
        "--name",
        "王磊",
        "--role",
        "dept_staff",
        "--dept",
        "CGJ",
        "--password-stdin",
        stdin="chengguan-2026\n",
    )
    assert added.exit_code == 0, added.output
    weak = run(migrated, "user", "add", "weak", "--name", "弱", "--role", "resident", "--password-stdin", stdin="123\n")
    assert weak.exit_code == 1
    assert "至少8位" in weak.output
    unknown_role = run(migrated, "user", "add", "x-user", "--name", "某", "--role", "king", "--no-password")
    assert unknown_role.exit_code == 1
    assert "未知角色" in unknown_role.output
    listed = run(migrated, "user", "list")
    assert "wanglei" in listed.output
    assert "部门工作人员" in listed.output
    assert run(migrated, "user", "disable", "wanglei", "--reason", "调岗").exit_code == 0
    assert "停用" in run(migrated, "user", "list").output
    assert run(migrated, "user", "disable", "ghost", "--reason", "x").exit_code == 3
    assert "区城市管理局" in run(migrated, "dept", "list").output


def test_serve_refuses_an_unmigrated_database(cli: CliRunner) -> None:
    result = run(cli, "serve")
    assert result.exit_code == 6
    assert "civicgrid db upgrade" in result.output


def test_a_case_through_the_cli_with_notifications_and_the_holiday_table(migrated: CliRunner, tmp_path: Path) -> None:
    table = tmp_path / "grid.csv"
    table.write_text("code,name\n370215,即墨区\n370215002,潮海街道\n", encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    assert (
        run(
            migrated,
            "grid",
            "import",
            "geojson",
            str(REAL / "370215_jimo_streets_osm.geojson"),
            "--crs",
            "wgs84",
            "--keep-good",
        ).exit_code
        == 1
    )  # other streets reported as unmatched
    assert (
        run(
            migrated, "dept", "add", "ZHZX", "--name", "指挥中心", "--kind", "command_center", "--grid", "370215"
        ).exit_code
        == 0
    )
    assert (
        run(
            migrated, "dept", "add", "HC-CG", "--name", "城管办", "--kind", "street_section", "--grid", "370215002"
        ).exit_code
        == 0
    )
    assert (
        run(
            migrated,
            "user",
            "add",
            "hc-cg",
            "--name",
            "城管办",
            "--role",
            "dept_staff",
            "--dept",
            "HC-CG",
            "--no-password",
        ).exit_code
        == 0
    )
    assert run(migrated, "case", "defaults").exit_code == 0
    taken = run(
        migrated,
        "case",
        "intake",
        "--channel",
        "hotline_12345",
        "--title",
        "垃圾堆积",
        "--lon",
        "120.4535",
        "--lat",
        "36.3887",
        "--crs",
        "wgs84",
        "--source-id",
        "GD-9",
    )
    assert taken.exit_code == 0 and "已受理" in taken.output
    number = taken.output.split("案件 ")[1].split("：")[0]
    again = run(migrated, "case", "intake", "--channel", "hotline_12345", "--title", "重复", "--source-id", "GD-9")
    assert "已存在" in again.output
    assert run(migrated, "case", "act", number, "register", "--category", "0101").exit_code == 0
    assert run(migrated, "case", "act", number, "dispatch").exit_code == 0
    refused = run(migrated, "case", "act", number, "dispatch")
    assert refused.exit_code == 5 and "当前为“待接收”" in refused.output
    assert run(migrated, "case", "act", number, "accept", "--as", "hc-cg").exit_code == 0
    shown = run(migrated, "case", "show", number)
    assert "处置中" in shown.output and "dispatch" in shown.output
    ticked = run(migrated, "tick")
    assert ticked.exit_code == 0 and "统计汇总：重建 1 个月" in ticked.output  # this month's KPI cells
    assert "重建 0 个月" in run(migrated, "kpi", "rollup").output
    assert "重建 1 个月" in run(migrated, "kpi", "rollup", "--all").output
    delivered = run(migrated, "notify", "deliver")
    assert delivered.exit_code == 0 and "已发送 1" in delivered.output
    assert "assigned" in run(migrated, "notify", "list").output
    assert run(migrated, "calendar", "set", "2027-01-01", "--name", "元旦").exit_code == 0
    assert run(migrated, "calendar", "confirm", "2027").exit_code == 0
    assert "confirmed" in run(migrated, "calendar", "status", "2027").output
    token = run(migrated, "user", "token", "hc-cg", "--name", "测试")
    assert token.exit_code == 0 and "cg_" in token.output


def test_bulk_imports_of_hotline_calls_and_of_a_taxonomy_and_routing_rules(migrated: CliRunner, tmp_path: Path) -> None:
    table = tmp_path / "grid.csv"
    table.write_text("code,name\n370215,即墨区\n370215002,潮海街道\n", encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    centre = ("dept", "add", "ZHZX", "--name", "指挥中心", "--kind", "command_center", "--grid", "370215")
    assert run(migrated, *centre).exit_code == 0
    assert run(migrated, "dept", "add", "ZJJ", "--name", "住建局", "--kind", "district_bureau").exit_code == 0
    assert run(migrated, "case", "defaults").exit_code == 0

    taxonomy = run(migrated, "case", "categories", "import", str(REAL / "taxonomy_3level_tipdm2020c.xlsx"))
    assert taxonomy.exit_code == 0, taxonomy.output
    assert "共517行" in taxonomy.output and "拒绝0" in taxonomy.output
    assert "事故处理" in run(migrated, "case", "categories", "list").output
    broken = tmp_path / "broken.csv"
    broken.write_text("一级分类,二级分类,处置时限\n城建,路灯,三天\n", encoding="utf-8")
    refused = run(migrated, "case", "categories", "import", str(broken))
    assert refused.exit_code == 1 and "未写入任何数据" in refused.output and "不是数字" in refused.output

    rule = ("case", "rules", "add", "物业归住建", "--main", "ZJJ", "--keyword", "物业", "--grid", "370215")
    assert run(migrated, *rule).exit_code == 0
    assert "物业归住建" in run(migrated, "case", "rules", "list").output
    assert run(migrated, "case", "rules", "add", "坏", "--main", "NOPE").exit_code == 3

    mapping = "title=留言主题,description=留言详情,source_id=留言编号,reported_at=留言时间,reporter_name=留言用户"
    imported = run(
        migrated, "case", "import", str(REAL / "appeals_sample.csv"), "--channel", "message_board", "--map", mapping
    )
    assert imported.exit_code == 0, imported.output
    assert "新增案件156件" in imported.output
    again = run(
        migrated, "case", "import", str(REAL / "appeals_sample.csv"), "--channel", "message_board", "--map", mapping
    )
    assert again.exit_code == 0 and "此前已导入完毕" in again.output
    calls = tmp_path / "calls.csv"
    calls.write_text("工单号,内容,时间\nGD-1,路灯不亮,2025-10-09 09:00\nGD-2,,2025-10-09 09:05\n", encoding="utf-8")
    partly = run(
        migrated,
        "case",
        "import",
        str(calls),
        "--channel",
        "hotline_12345",
        "--map",
        "description=内容,source_id=工单号,reported_at=时间",
    )
    assert partly.exit_code == 1 and "新增案件1件" in partly.output and "拒绝1行" in partly.output
    assert "3" in partly.output.split("被拒绝的行")[1]  # the spreadsheet row of the empty call
    assert "共 157 件" in run(migrated, "case", "list").output
    taken = run(migrated, "case", "intake", "--channel", "hotline_12345", "--title", "无坐标", "--address", "某路")
    unplaced = taken.output.split("案件 ")[1].split("：")[0]
    assert "待落图" in taken.output
    placed = run(migrated, "case", "act", unplaced, "place", "--grid", "370215002")
    assert placed.exit_code == 0, placed.output
    assert "潮海街道" in run(migrated, "case", "show", unplaced).output


def test_people_are_imported_from_the_template_with_bad_rows_reported(migrated: CliRunner, tmp_path: Path) -> None:
    template = tmp_path / "模板.xlsx"
    assert run(migrated, "registry", "people", "template", str(template)).exit_code == 0
    assert template.read_bytes().startswith(b"PK")
    table = tmp_path / "grid.csv"
    table.write_text("code,name\n370215,即墨区\n370215002,潮海街道\n", encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    people = tmp_path / "人口.csv"
    people.write_text(
        "姓名,身份证号码,居住类型,网格代码\n王秀兰,11010519491231002X,户籍,370215002\n李四,110105194912310021,常住,370215002\n",
        encoding="utf-8",
    )
    refused = run(migrated, "registry", "people", "import", str(people))
    assert refused.exit_code == 1 and "拒绝1" in refused.output and "第3行" in refused.output
    assert "id_number_checksum" in refused.output and "未写入任何数据" in refused.output
    kept = run(migrated, "registry", "people", "import", str(people), "--keep-good")
    assert "新增1" in kept.output and "已写入" in kept.output


def test_objects_are_imported_from_a_sheet_and_a_geojson_file(migrated: CliRunner, tmp_path: Path) -> None:
    template = tmp_path / "单位模板.xlsx"
    assert run(migrated, "registry", "objects", "template", "enterprise", str(template)).exit_code == 0
    assert template.read_bytes().startswith(b"PK")
    assert run(migrated, "registry", "objects", "template", "ship", str(template)).exit_code != 0
    table = tmp_path / "grid.csv"
    table.write_text("code,name\n370215,即墨区\n370215002,潮海街道\n", encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    companies = tmp_path / "单位.csv"
    companies.write_text(
        "名称,统一社会信用代码,规模,网格代码\n海川机械,914403001922038216,规上,370215002\n坏公司,914403001922038217,,370215002\n",
        encoding="utf-8",
    )
    refused = run(migrated, "registry", "objects", "import", "enterprise", str(companies))
    assert refused.exit_code == 1 and "第3行" in refused.output and "credit_code_checksum" in refused.output
    kept = run(migrated, "registry", "objects", "import", "enterprise", str(companies), "--keep-good")
    assert "新增1" in kept.output and "已写入" in kept.output
    rivers = tmp_path / "河道.geojson"
    line = {"type": "LineString", "coordinates": [[120.0, 36.0], [120.01, 36.0]]}
    feature = {"type": "Feature", "properties": {"名称": "墨水河", "网格代码": "370215002"}, "geometry": line}
    rivers.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    placed = run(migrated, "registry", "objects", "import", "river", str(rivers))
    assert placed.exit_code == 0 and "新增1" in placed.output, placed.output


def test_serve_says_where_it_really_listens(migrated: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    listening: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: listening.update(options))
    monkeypatch.setenv("CIVICGRID_SCHEDULER_INTERVAL_SECONDS", "0")
    get_settings.cache_clear()
    result = run(migrated, "serve", "--port", "8123", "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert "http://0.0.0.0:8123" in result.output and "8000" not in result.output
    assert (listening["host"], listening["port"]) == ("0.0.0.0", 8123)


def test_text_no_database_can_store_is_refused_from_the_command_line_and_from_files(
    migrated: CliRunner, tmp_path: Path
) -> None:
    # A name that was not UTF-8 on the command line reaches Python as a lone surrogate (surrogateescape).
    broken = run(migrated, "case", "intake", "--channel", "hotline_12345", "--title", "路灯\udcff不亮")
    assert broken.exit_code == 1 and "无法保存的字符" in broken.output
    assert "共 0 件" in run(migrated, "case", "list").output
    table = tmp_path / "grid.csv"
    table.write_text("code,name\n370215,即墨区\n370215002,潮海街道\n", encoding="utf-8")
    assert run(migrated, "grid", "import", "table", str(table)).exit_code == 0
    people = tmp_path / "人口.csv"
    rows = [
        "姓名,户号,地址,网格代码",
        "王\x00秀兰,,,370215002",
        "李四,户" + "0" * 41 + ",,370215002",
        "张三,,某路1号,370215002",
    ]
    people.write_text("\n".join(rows) + "\n", encoding="utf-8")
    refused = run(migrated, "registry", "people", "import", str(people))
    assert refused.exit_code == 1 and "第2行" in refused.output and "第3行" in refused.output
    assert (
        "unstorable_text" in refused.output and "text_too_long" in refused.output and "未写入任何数据" in refused.output
    )
