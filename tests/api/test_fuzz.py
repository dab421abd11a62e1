"""Requests generated from the OpenAPI document, for every operation, never answer 5xx and
always answer what the document says.

Schemathesis reads ``/api/v1/openapi.json`` (the API, Open311 and the open-data pages) and sends
each operation the examples of the document, boundary and invalid values of every parameter and
body field (its "coverage" phase), then ``FUZZ_EXAMPLES`` property-based cases (Hypothesis),
as an administrator, as an operator and anonymously. Two checks judge every answer: no server
error, and a body that matches the response schema the operation documents.

The run has its own SQLite platform with a small synthetic metropolis, so that its writes
(rules, cases, keys, reports…) disturb no other test. It is bounded and repeatable: a fixed
seed, derandomised generation, a fixed number of cases per operation (a few minutes on two
cores). ``METROPILOT_FUZZ_BACKENDS=sqlite,postgresql`` runs it on PostgreSQL too, and
``FUZZ_EXAMPLES`` raises the number of cases for a longer hunt by hand.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from metropilot.accounts.model import parse_scope
from metropilot.accounts.services import create_key
from metropilot.bootstrap import Platform, bootstrap
from metropilot.settings import Settings
from metropilot.shared.actors import SYSTEM
from metropilot.simulate.services import generate_metropolis
from metropilot.web.app import create_app
from tests.conftest import TEST_ACTOR
from tests.factories import bearer, create_world_accounts

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FUZZ_SEED = 20261127
BACKENDS = [b.strip() for b in os.environ.get("METROPILOT_FUZZ_BACKENDS", "sqlite").split(",")]
AUDIENCES = ("admin", "operator", "anonymous")
OPENAPI = "/api/v1/openapi.json"
STREAM = "/api/v1/stream"
LOGOUT = "/api/v1/auth/logout"
OPEN311_POSTS = "^/open311/v2/(requests|servicerequestupdates)\\.\\{fmt\\}$"


@dataclass
class Fuzzed:
    platform: Platform
    app: Any
    # An Open311 client's key (posting reports, pushing updates), so that the generated posts
    # get past the key check and reach the parsing of their fields.
    open311_key: str


@dataclass
class Outcome:
    """What one audience's run did: cases per operation, and every failure, explained."""

    cases: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)


def _served(app: Any) -> Any:
    """The app as a server runs it: an exception that became a 500 is logged, not re-raised
    into the client (the generated case then fails on its 500, with its reproduction)."""

    async def serve(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            if scope.get("type") != "http":
                raise

    return serve


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(
    request: pytest.FixtureRequest, databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    backend = str(request.param)
    data_dir: Path = tmp_path_factory.mktemp(f"fuzz-{backend}")
    settings = Settings(
        data_dir=data_dir,
        database_url=databases.url(backend),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        # Thousands of generated sign-ins and Open311 posts a minute: no limiter may turn them
        # into 429s, which would hide the answers the run is there to check.
        login_attempts_per_minute=1_000_000,
        open311_posts_per_minute=1_000_000,
        open311_posts_per_minute_per_key=1_000_000,
    )
    platform = bootstrap(settings, upgrade=True)
    with platform.uow_factory(write=True) as uow:
        generate_metropolis(uow, TEST_ACTOR, scale=0.02, seed=11)
        _, open311_key = create_key(
            uow,
            "fuzzed Open311 client",
            [parse_scope("open311:post"), parse_scope("reports:update")],
            SYSTEM,
        )
        uow.commit()
    create_world_accounts(platform)
    yield Fuzzed(platform, create_app(platform), open311_key)
    platform.close()


def _config(fuzzed: Fuzzed, audience: str) -> SchemathesisConfig:
    headers: dict[str, str] = {}
    logout_headers: dict[str, str] = {}
    if audience != "anonymous":
        with TestClient(fuzzed.app) as client:
            headers = bearer(client, audience)
            # Signing out ends the session it is called with: it gets one of its own.
            logout_headers = bearer(client, audience)
    operations: list[dict[str, Any]] = [
        # A stream ends at once instead of after an hour: its start (parameters, scope, the
        # replay) is what can fail.
        {"include-path": STREAM, "parameters": {"timeout_s": 0}},
        {"include-path-regex": OPEN311_POSTS, "headers": {"X-API-Key": fuzzed.open311_key}},
    ]
    if logout_headers:
        operations.append({"include-path": LOGOUT, "headers": logout_headers})
    return SchemathesisConfig.from_dict(
        {
            "seed": FUZZ_SEED,
            # Hypothesis's health checks judge the generation's speed, not the API: on a busy
            # CI machine they would fail a run that found nothing.
            "suppress-health-check": ["all"],
            "headers": headers,
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
            },
            "operations": operations,
        }
    )


def _run(fuzzed: Fuzzed, audience: str) -> Outcome:
    schema = schemathesis.openapi.from_asgi(
        OPENAPI, _served(fuzzed.app), config=_config(fuzzed, audience)
    )
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.label:
            recorder = event.recorder
            outcome.cases[event.label] += len(recorder.cases)
            for interaction in recorder.interactions.values():
                response = interaction.response
                if response is not None and response.status_code >= 500:
                    outcome.server_errors += 1
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    answered = recorder.interactions.get(case_id)
                    body = (
                        (answered.response.content or b"")[:300]
                        if answered is not None and answered.response is not None
                        else b""
                    )
                    outcome.failures.append(
                        f"{event.label}: {check.name}: {check.failure_info.failure.title}\n"
                        f"    {check.failure_info.code_sample}\n    answered {body!r}"
                    )
        elif isinstance(event, events.NonFatalError):
            outcome.failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            outcome.failures.append(f"the run stopped: {event.exception!r}")
    return outcome


@pytest.mark.parametrize("audience", AUDIENCES)
def test_generated_requests_get_no_server_error_and_a_documented_answer(
    fuzzed: Fuzzed, audience: str
) -> None:
    started = time.monotonic()
    outcome = _run(fuzzed, audience)
    elapsed = time.monotonic() - started
    documented = fuzzed.app.openapi()["paths"]
    operations = sum(len(methods) for methods in documented.values())
    print(
        f"\nfuzzing as {audience} on {fuzzed.platform.engine.dialect.name}: "
        f"{len(outcome.cases)} of {operations} operations, "
        f"{sum(outcome.cases.values())} cases, {outcome.server_errors} server errors, "
        f"{len(outcome.failures)} failures, {elapsed:.0f} s"
    )
    assert not outcome.failures, "\n".join(outcome.failures[:40])
    # Every operation of the document was tried (a silent skip would test nothing).
    assert len(outcome.cases) == operations
    assert outcome.server_errors == 0
