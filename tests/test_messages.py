"""Every refusal a person reads is Chinese: the message of each domain error raised in the code, read statically.

Two faults are looked for in the text of ``raise …Error("…")`` (and the helpers that build one): English words
outside the names of formats and standards a Chinese office uses as they are, and a library's own message
(``{error}``, ``str(error)`` of a caught exception) pasted into the text — a library speaks English ("Cannot
detect file format"); its words belong in the error's detail. The command line (``cli``), the demo generator and
the delivery log (``notify``: transport errors for operators) speak to developers and operators and are left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "civicgrid"
LEFT_OUT = ("cli", "demo", "notify", "migrations")
ERROR_CALLS = frozenset(
    {
        "CivicgridError", "InvalidInputError", "NotFoundError", "PermissionDeniedError", "ConflictError",
        "SignInRefusedError", "TrackingRefusedError", "TrackingThrottledError", "CsrfRefusedError",
        "_feature_error", "refuse", "reject", "Problem",
    }
)  # fmt: skip
# Formats, standards and the keys a file or a request must spell as they are (GeoJSON members, coordinate
# system codes, hotline column keys, the HTTP header of a token).
ALLOWED_WORDS = frozenset(
    {
        "GeoJSON", "JSON", "WKT", "Excel", "WPS", "CSV", "xlsx", "xls", "UTF", "GBK", "GB", "WGS", "GCJ", "BD",
        "EPSG", "CGCS", "JPEG", "PNG", "WebP", "HEIC", "PDF", "MB", "Base", "API", "Feature", "type",
        "features", "properties", "geometry", "Polygon", "MultiPolygon", "wgs", "gcj", "bd", "title",
        "description", "lon", "lat", "Authorization", "Bearer", "province", "code", "village", "name", "parent",
        "level", "number", "tag",
    }
)  # fmt: skip
WORD = re.compile(r"[A-Za-z]{2,}")
LIBRARY_TEXT = frozenset({"msg", "args", "strerror", "reason"})  # where a caught exception keeps its words


def _sources() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if not set(path.relative_to(PACKAGE).parts) & set(LEFT_OUT):
            yield path


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _caught_names(tree: ast.AST) -> set[str]:
    return {handler.name for handler in ast.walk(tree) if isinstance(handler, ast.ExceptHandler) and handler.name}


def _messages(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in ERROR_CALLS:
            for argument in node.args[:3]:
                if isinstance(argument, ast.Constant | ast.JoinedStr):
                    yield node.lineno, argument


def _literal_text(message: ast.expr) -> str:
    if isinstance(message, ast.Constant):
        return str(message.value)
    assert isinstance(message, ast.JoinedStr)
    return " ".join(str(part.value) for part in message.values if isinstance(part, ast.Constant))


def _pastes_caught_error(message: ast.expr, caught: set[str]) -> bool:
    if not isinstance(message, ast.JoinedStr):
        return False
    for part in message.values:
        if not isinstance(part, ast.FormattedValue):
            continue
        value = part.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "str" and value.args:
            value = value.args[0]
        if isinstance(value, ast.Attribute) and value.attr in LIBRARY_TEXT:
            value = value.value
        if isinstance(value, ast.Name) and value.id in caught:
            return True
    return False


def test_refusals_are_chinese_and_never_a_library_message() -> None:
    faults = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        caught = _caught_names(tree)
        for line, message in _messages(tree):
            text = _literal_text(message)
            if not re.search(r"[\u4e00-\u9fff]", text):
                continue  # not a sentence for people (a code, an internal assertion)
            where = f"{path.relative_to(PACKAGE)}:{line}"
            english = [word for word in WORD.findall(text) if word not in ALLOWED_WORDS]
            if english:
                faults.append(f"{where}: 英文词 {', '.join(english)}")
            if _pastes_caught_error(message, caught):
                faults.append(f"{where}: 原样带出了库的错误信息")
    assert not faults, "\n".join(faults)


def test_the_check_sees_a_pasted_library_message() -> None:
    tree = ast.parse(
        "try:\n    pass\nexcept ValueError as error:\n"
        "    raise InvalidInputError(f'无法读取 Excel 文件（{error}）')\n"
        "raise NotFoundError('找不到 the grid')\n"
    )
    caught = _caught_names(tree)
    found = sorted((_pastes_caught_error(m, caught), WORD.findall(_literal_text(m))) for _, m in _messages(tree))
    assert found == [(False, ["the", "grid"]), (True, ["Excel"])]
