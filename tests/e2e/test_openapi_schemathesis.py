"""The OpenAPI document is complete and accurate: schemathesis generates requests from it and
checks every response (no 5xx, documented status codes, content types, headers and bodies).

Bounded: a few examples per operation, against a service of its own (generated calendar
overrides and cases never reach the other tests), authenticated as a province-level user holding
every role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api.auth import issue_token
from api.ratelimit import Rate, RateLimits
from api.tokens import tokens_for

from .conftest import Stack, open_pledge, start_stack


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # the fuzzer is one client probing every operation with invalid credentials on purpose (the
    # ignored_auth check), thousands a run: exactly what the failed-look-up limit stops with 429
    # after 20. That limit is lifted here; the per-token and per-client limits keep their defaults
    # (the fuzzer's own pace never meets them).
    limits = RateLimits(failures=Rate(per_second=10_000, burst=1_000_000))
    stack = start_stack(tmp_path_factory.mktemp("schemathesis"), "fuzz", rate_limits=limits)
    token, _ = issue_token(tokens_for(stack.engine), user="fuzzer", org="420000", now=stack.engine.now(),
                           roles="clerk,examiner,supervisor,leader,admin")
    stack.tokens["fuzzer"] = token
    for _ in range(3):  # something to find
        open_pledge(stack.wuhan_clerk)
    yield stack
    stack.close()


def _surrogates(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_surrogates(k) or _surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_surrogates(v) for v in value)
    return False


def _run(schema: schemathesis.BaseSchema, mode: schemathesis.GenerationMode, headers: dict[str, str],
         examples: int) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()

        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            # refused rightly (400) though the schema cannot say so: a cursor the API did not hand
            # out; text with lone surrogates (not Unicode: RFC 8259 §8.2); an override whose
            # dates fall outside its year
            if case.operation.label == "GET /api/changes" and case.query:
                case.query.pop("wait", None)  # a long poll: test_changes_api.py waits on purpose
            odd = ("cursor" in (case.query or {}) or _surrogates(case.body)
                   or case.operation.label == "GET /api/changes"  # a cursor not handed out: 422
                   or case.operation.label == "POST /api/webhooks"  # a URL, item or cursor that is not one
                   or {"item", "item_id"} <= set(case.query or {})  # two different items for one filter
                   # dates bounded to 1900–2199 and a legal start at most a year back (a format
                   # "date" has no bounds in the schema)
                   or bool({"opened_from", "opened_to", "closed_from", "closed_to"} & set(case.query or {}))
                   or (case.operation.label == "POST /api/cases" and isinstance(case.body, dict)
                       and case.body.get("started_on") is not None)
                   or case.operation.label == "POST /api/calendar"
                   or case.operation.label == "GET /api/reports/monthly"  # a month not begun yet: 422 naming month
                   or case.operation.label == "POST /api/suspensions"  # first ≤ last, a known org
                   or case.operation.label == "POST /api/migrations"  # state names without NUL (found at 60 examples)
                   # a reason of white space only (U+00A0): refused as no reason, which a pattern cannot say
                   or case.operation.label == "POST /api/cases/{case_id}/clocks/{clock}/confirm-expiry")
            lenient = [positive_data_acceptance] if odd else []
            if mode is schemathesis.GenerationMode.NEGATIVE:  # unknown query parameters are ignored
                lenient.append(negative_data_rejection)
            case.call_and_validate(headers=headers, excluded_checks=lenient)

        try:
            check()
        except Unsatisfiable:  # no parameters to make invalid (negative mode)
            continue
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report
            failures.append(f"{mode.value} {op.label}: {exc}")
    return failures


def test_api_conforms_to_its_openapi(fuzzed: Stack) -> None:
    """Every operation, valid requests (positive) and invalid ones (negative). schemathesis'
    pytest plugin does not run under pytest 9 yet, so the operations are driven here."""
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    auth = {"Authorization": f"Bearer {fuzzed.tokens['fuzzer']}"}
    # CASECLOCK_FUZZ_EXAMPLES: more examples per operation for a deeper run by hand (docs/reliability.md)
    examples = int(os.environ.get("CASECLOCK_FUZZ_EXAMPLES", "12"))
    failures = _run(schema, schemathesis.GenerationMode.POSITIVE, auth, examples)
    failures += _run(schema, schemathesis.GenerationMode.NEGATIVE, auth, max(1, examples // 2))
    assert not failures, "\n\n".join(failures)


def test_openapi_names_every_route(fuzzed: Stack) -> None:
    import httpx

    doc = httpx.get(f"{fuzzed.url}/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/api/cases", "/api/cases/{case_id}", "/api/cases/{case_id}/history",
        "/api/cases/{case_id}/triggers", "/api/cases/{case_id}/transitions/{trigger}", "/api/worklist",
        "/api/sla/board", "/api/sla/breaches", "/api/reports/monthly", "/api/definitions",
        "/api/definitions/{item_id}", "/api/definitions/{item_id}/diagram", "/api/calendar",
        "/api/health", "/metrics",
    } <= paths
    fire = doc["paths"]["/api/cases/{case_id}/transitions/{trigger}"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "412", "422"} <= set(fire["responses"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "Problem" in doc["components"]["schemas"]
