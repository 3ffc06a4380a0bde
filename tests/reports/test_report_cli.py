"""`civicgrid report` end to end on a real database: the files it writes, and refusals with a reason and the
documented exit code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from tests.cases.conftest import DISTRICT, STREET, District, _departments, _grid, _people, beijing
from tests.reports.conftest import COUNTED_AT, closed
from typer.testing import CliRunner, Result

from civicgrid import timesource
from civicgrid.cases.defaults import install_defaults
from civicgrid.cases.models import Rating
from civicgrid.cli import app
from civicgrid.db import make_engine, make_session_factory, transaction
from civicgrid.org.actor import Actor
from civicgrid.settings import get_settings


def run(runner: CliRunner, *args: str) -> Result:
    with timesource.pinned(COUNTED_AT):
        return runner.invoke(app, list(args), catch_exceptions=False)


def flat(output: str) -> str:
    """The output without the line breaks the console wraps long messages at."""
    return re.sub(r"\s+", "", output)


@pytest.fixture
def street(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The small district of the case tests with three rubbish cases closed in 2025-Q3, committed."""
    monkeypatch.setenv("CIVICGRID_DATABASE_URL", database_url)
    monkeypatch.setenv("CIVICGRID_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    assert run(runner, "db", "upgrade").exit_code == 0
    engine = make_engine(database_url)
    try:
        with timesource.pinned(COUNTED_AT), transaction(make_session_factory(engine, write=True)) as session:
            system = Actor.system("测试")
            _grid(session, system)
            _departments(session, system)
            install_defaults(session, system)
            d = District(session=session, settings=get_settings(), system=system, **_people(session, system))
            for month, rating in ((7, Rating.SATISFIED), (8, Rating.UNSATISFIED), (9, None)):
                closed(d, beijing(2025, month, 16, 9, 0), rating)
    finally:
        engine.dispose()
    yield runner
    get_settings.cache_clear()


def test_the_command_writes_a_word_file_and_markdown_with_its_charts(street: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "q3.docx"
    result = run(street, "report", "--period", "2025-Q3", "--scope", STREET, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "已生成工作报告" in result.output
    word = docx.Document(str(target))
    text = "\n".join(paragraph.text for paragraph in word.paragraphs)
    assert "今年7-9月，海川街道共受理群众诉求3件" in text and "办结3件，办结率100.0%" in text
    assert len(word.tables) == 3 and len(word.inline_shapes) == 2  # no overdue case: no 督办 table

    folder = tmp_path / "out"
    result = run(street, "report", "--period", "2025-Q3", "--as", "leader", "--format", "md", "--output", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == [
        "海川街道2025年第三季度工作总结-categories.png",
        "海川街道2025年第三季度工作总结-trend.png",
        "海川街道2025年第三季度工作总结.md",
    ]
    markdown = (folder / "海川街道2025年第三季度工作总结.md").read_text(encoding="utf-8")
    assert markdown.startswith("# 海川街道2025年第三季度网格化服务管理工作总结")
    assert "数据统计截至2025年10月9日10时" in markdown


REFUSALS = [
    (("--period", "2025-13"), 1, "无法识别的统计期间“2025-13”"),
    (("--period", "2025-Q3", "--as", "grid-worker"), 4, "无权生成工作报告"),
    (("--period", "2025-Q3", "--as", "nobody"), 3, "用户“nobody”不存在"),
    (("--period", "2025-Q3", "--scope", "370299999"), 3, "找不到网格“370299999”"),
    (("--period", "2025-Q3", "--as", "dispatcher", "--scope", DISTRICT), 4, "不在其管辖范围内"),
    (("--period", "2025-Q3", "--format", "pdf"), 1, "不支持的报告格式“pdf”"),
    (("--period", "2025-Q3", "--format", "docx", "--output", "{out}/总结.md"), 1, "扩展名与格式docx不符"),
    (("--period", "2025-Q3", "--min-repeats", "0"), 1, "件数门槛"),
]


def test_the_command_refuses_with_a_reason_and_an_exit_code(street: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args, exit_code, message in REFUSALS:  # one database for all: each refusal writes nothing
        given = [arg.format(out=out) for arg in args]
        result = run(street, "report", *given, *([] if "--output" in args else ["--output", str(out)]))
        assert result.exit_code == exit_code, (args, result.output)
        assert message in flat(result.output), (args, result.output)
        assert "Traceback" not in result.output
    assert not out.exists()
