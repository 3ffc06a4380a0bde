"""The OpenAPI document (and so the explorer at /api/docs): every refusal an endpoint gives is declared with the
API's error body, the Excel downloads with their real media type, ids and paging within what the columns hold,
and every word a reader sees — tags, summaries, descriptions, response descriptions — in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicgrid import migrate
from civicgrid.app import create_app
from civicgrid.db import make_engine
from civicgrid.excel import XLSX_MEDIA_TYPE
from civicgrid.settings import Settings

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
INT32_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    var_dir = tmp_path_factory.mktemp("openapi")
    engine = make_engine(f"sqlite:///{var_dir / 'civicgrid.db'}")
    migrate.upgrade(engine)
    yield create_app(Settings(var_dir=Path(var_dir), scheduler_interval_seconds=0), engine).openapi()
    engine.dispose()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_declares_its_refusals_with_the_error_body(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        responses = operation["responses"]
        for status in ("400", "401", "403", "404", "422", "503"):
            assert responses[status]["content"] == {"application/json": {"schema": ERROR_BODY}}, (name, status)
        writes = name.startswith(("POST", "PATCH")) or name == "GET /api/v1/registry/people/export.xlsx"
        assert ("409" in responses) == writes, name
    error = spec["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "detail"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_excel_downloads_are_declared_as_excel(spec: dict[str, Any]) -> None:
    downloads = [(name, operation) for name, operation in operations(spec) if name.endswith(".xlsx")]
    assert len(downloads) == 5
    for name, operation in downloads:
        assert list(operation["responses"]["200"]["content"]) == [XLSX_MEDIA_TYPE], name


def test_ids_offsets_and_limits_are_bounded_by_their_columns(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["name"].endswith("_id") or parameter["name"] == "offset":
                assert schema["maximum"] == INT32_MAX and schema["minimum"] in (0, 1), (name, parameter)
            if parameter["name"] == "limit":
                assert schema["maximum"] == 500, name
            if schema.get("type") == "string" and parameter["in"] != "header":
                assert "maxLength" in schema or "enum" in schema, (name, parameter)


def test_everything_a_reader_of_the_explorer_sees_is_chinese(spec: dict[str, Any]) -> None:
    assert {tag["name"] for tag in spec["tags"]} == {
        tag for _, operation in operations(spec) for tag in operation["tags"]
    }
    for tag in spec["tags"]:
        assert CHINESE.search(tag["name"]) and CHINESE.search(tag["description"]), tag
    for name, operation in operations(spec):
        assert CHINESE.search(operation["summary"]), name
        if "description" in operation:
            assert CHINESE.search(operation["description"]), name
        for status, response in operation["responses"].items():
            assert CHINESE.search(response["description"]), (name, status)
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "header" or parameter["name"] != "authorization":
                assert CHINESE.search(parameter.get("description", "")), (name, parameter["name"])
    for model, schema in spec["components"]["schemas"].items():
        if "description" in schema and "enum" not in schema:
            assert CHINESE.search(schema["description"]), model
        for field, body in schema.get("properties", {}).items():
            if "description" in body:
                assert CHINESE.search(body["description"]), (model, field)
