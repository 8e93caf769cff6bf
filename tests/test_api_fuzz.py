"""The JSON API against its own OpenAPI schema, fuzzed with Schemathesis.

Every operation under ``/api/v1`` is called with generated requests, valid and invalid ones,
as a clerk and as a supervisor of the demo's agency, on a real server on loopback over a small
demo database (SQLite: the checks are of the HTTP surface, which both stores share). A run is
bounded (Schemathesis's coverage phase, then 25 generated requests per operation; a fixed seed,
no shrinking), so it takes about the same time and sends the same requests on every machine.

The schema is read from the router when the module is imported, as ``schema.parametrize()``
needs it at collection (``schemathesis.pytest.from_fixture`` would read it from the running
server, but its pytest integration does not run on pytest 9.2); the first test shows it is the
one the server serves at /openapi.json.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live import running
from workflow import Engine
from workflow.api import create_app, router
from workflow.api.problems import problem_media_only
from workflow.demo import DEMO_AGENCY, build_demo

#: What a response must never be: a server error, or anything the schema does not say.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

#: Valid and invalid requests, a fixed seed, no shrinking and no example database: the same
#: requests on every run, and a run's time bounded by the examples per operation.
GENERATION = {"mode": "all", "max-examples": 25, "deterministic": True, "no-shrink": True,
              "database": "none"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A demo database of a few cases (so reads find cases, steps find states to refuse),
    served on loopback."""
    folder = tmp_path_factory.mktemp("fuzz")
    with Engine(f"sqlite:///{folder / 'demo.db'}") as engine:
        build_demo(engine, cases=24)
        with running(create_app(engine)) as base:
            yield engine, base


@pytest.fixture(scope="module", params=["clerk", "supervisor"])
def credential(request, served) -> dict[str, str]:
    """The Authorization header of a new token of the demo's agency: a clerk's, a supervisor's."""
    engine, _ = served
    token, _ = engine.access_service.create_token(f"fuzz-{request.param}", request.param,
                                                  DEMO_AGENCY)
    return {"Authorization": f"Bearer {token}"}


def _api_operations() -> dict:
    """The OpenAPI schema of the API's routes (the served app's /openapi.json has the same
    /api/v1 paths: see the first test), its refusals documented as application/problem+json
    only, as ``create_app`` serves them."""
    app = FastAPI()
    app.include_router(router())
    return problem_media_only(app.openapi())


OPENAPI = _api_operations()
schema = schemathesis.openapi.from_dict(OPENAPI, config=SchemathesisConfig.from_dict({
    "seed": 20261206, "generation": GENERATION, "phases": {"stateful": {"enabled": False}},
    # Hypothesis's health checks judge the generation's speed, not the server: on a busy
    # machine they would fail a run that found nothing.
    "suppress-health-check": ["all"], "request-timeout": 30}))


def test_the_fuzzed_schema_is_the_one_the_server_serves(served):
    """The operations fuzzed below are the /api/v1 paths of the served /openapi.json, as is."""
    _, base = served
    document = httpx.get(f"{base}/openapi.json").json()
    assert {p: v for p, v in document["paths"].items() if p.startswith("/api/v1/")} \
        == OPENAPI["paths"]
    models = document["components"]["schemas"]
    assert {name: models.get(name) for name in OPENAPI["components"]["schemas"]} \
        == OPENAPI["components"]["schemas"]


@schema.parametrize()
def test_every_api_operation_answers_as_its_schema_says(case, served, credential):
    """No request, valid or not, gets a server error, a status the operation does not document,
    or a body, content type or header its schema does not describe."""
    _, base = served
    case.call_and_validate(base_url=base, headers=credential, checks=CHECKS)
