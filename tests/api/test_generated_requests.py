"""Schema-generated requests (schemathesis) against the whole JSON API over the demo district, each sent as a
dispatcher, an administrator and a resident: no answer is a 5xx, every status code and content type is one the
OpenAPI document declares for the operation, and every body matches its declared schema. Valid requests and
invalid ones (out of range, too long, wrong types — schemathesis' negative mode) alike.

The run is bounded and seeded, so CI sends the same requests every time: ``CIVICGRID_FUZZ_EXAMPLES``
examples per operation and mode (8 by default, about a minute on both backends); set it to 200 to explore more
locally, and ``CIVICGRID_FUZZ_SEED`` for another fixed sequence.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.web.conftest import DemoSite, bearer_headers, demo_site_for

from civicgrid.app import create_app

EXAMPLES = int(os.environ.get("CIVICGRID_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("CIVICGRID_FUZZ_SEED", "16"))
ROLES = ("dispatcher", "admin", "resident")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    """A demo district of its own: the generated writes (cases, people, closed campaigns) stay out of the
    database the page tests share."""
    yield from demo_site_for(request, tmp_path_factory)


@pytest.fixture(scope="module")
def fuzzed_app(fuzzed_site: DemoSite) -> FastAPI:
    return create_app(fuzzed_site.settings, fuzzed_site.engine)


@pytest.mark.slow
def test_generated_requests_get_documented_answers(fuzzed_site: DemoSite, fuzzed_app: FastAPI) -> None:
    tokens = bearer_headers(fuzzed_site.engine, *ROLES)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzzed_app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failure = _explore(operation, mode, tokens)
            if failure is not None:
                failures.append(f"{operation.label} ({mode.value}):\n{failure}")
    assert not failures, "\n\n".join(failures)


def _explore(
    operation: schemathesis.APIOperation, mode: GenerationMode, tokens: dict[str, dict[str, str]]
) -> str | None:
    """The first failure of the operation's generated requests in ``mode``, as schemathesis reports it."""

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report shows the request as sent
    )
    @given(case=operation.as_strategy(mode))
    def send(case: schemathesis.Case) -> None:
        for role in ROLES:
            case.call_and_validate(headers=tokens[role], checks=CHECKS)

    try:
        send()
    except Unsatisfiable:
        return None  # nothing to make invalid: the operation takes no input (negative mode)
    except (Exception, FailureGroup) as error:
        return str(error)
    return None
