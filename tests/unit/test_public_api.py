"""The public names and the library contract of issue 3, pinned: changing them is a decision."""

from __future__ import annotations

import dataclasses
import inspect

import adapters
import workflow
from workflow import errors

WORKFLOW_ALL = [
    "SYSTEM", "TZ", "Actor", "Case", "CaseQuery", "Clock", "ClockKind", "Deadline", "Definition",
    "Engine", "EngineSettings", "EscalationPolicy", "Escalation", "Event", "Level", "Limit",
    "OrgTree", "Sla", "Status", "Store", "Unit", "UnitOfWork", "WorkingCalendar", "errors",
]
ADAPTERS_ALL = ["build_engine", "bundled_definitions"]
ERRORS = [
    "CalendarError", "CaseNotFound", "DefinitionError", "Forbidden", "IdempotencyMismatch",
    "InvalidData", "MissingData", "TransitionNotAllowed", "UnknownItem", "VersionConflict", "WorkflowError",
]


def test_workflow_exports_exactly_these_names():
    assert workflow.__all__ == WORKFLOW_ALL
    for name in WORKFLOW_ALL:
        assert getattr(workflow, name) is not None


def test_adapters_exports_exactly_these_names():
    assert adapters.__all__ == ADAPTERS_ALL
    for name in ADAPTERS_ALL:
        assert callable(getattr(adapters, name))


def test_every_error_has_the_single_root():
    assert sorted(n for n in errors.__all__ if n != "Problem") == ERRORS
    for name in ERRORS:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.WorkflowError), name
        assert issubclass(cls, Exception)
        assert isinstance(cls.code, str) and cls.code
    codes = [getattr(errors, n).code for n in ERRORS]
    assert len(set(codes)) == len(codes)  # the API maps each class to one problem type


def test_the_error_tree_docstring_names_every_error():
    doc = errors.__doc__ or ""
    for name in ERRORS:
        assert name in doc, name


def test_error_payloads():
    exc = errors.MissingData("data missing", {"notice": "required"})
    assert exc.fields == {"notice": "required"}
    problem = errors.Problem("transitions[0].dest", "unknown state 'x'", 7)
    err = errors.DefinitionError("item.yaml", [problem])
    assert err.source == "item.yaml" and err.problems == [problem]
    assert "item.yaml" in str(err) and "line 7" in str(err) and "transitions[0].dest" in str(err)


def _params(fn):
    return {n: p for n, p in inspect.signature(fn).parameters.items() if n != "self"}


def _kw(fn, name, default=inspect.Parameter.empty):
    p = _params(fn)[name]
    assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{fn.__name__}: {name} is keyword-only"
    if default is not inspect.Parameter.empty:
        assert p.default == default, f"{fn.__name__}: {name} defaults to {default!r}"


def test_engine_method_signatures():
    E = workflow.Engine
    p = _params(E.open_case)
    assert list(p)[0] == "item_id"
    _kw(E.open_case, "actor")
    for name in ("data", "org", "idempotency_key"):
        _kw(E.open_case, name, None)

    p = _params(E.fire)
    assert list(p)[:2] == ["case_id", "trigger"]
    _kw(E.fire, "actor")
    for name in ("data", "expected_version", "idempotency_key"):
        _kw(E.fire, name, None)

    assert list(_params(E.available_triggers))[0] == "case_id"
    _kw(E.available_triggers, "actor")
    assert _params(E.get_case)["actor"].default is None
    assert list(_params(E.history))[0] == "case_id"
    p = _params(E.list_cases)
    assert "actor" in p and any(x.kind is inspect.Parameter.VAR_KEYWORD for x in p.values())
    assert list(_params(E.worklist))[0] == "actor"
    assert _params(E.definitions) == {}
    assert all(x.default is not inspect.Parameter.empty for x in _params(E.sweep).values())
    # issue 15: who loaded the notice (optional: the engine's own actor when absent)
    assert list(_params(E.load_calendar)) == ["path", "actor"]
    assert _params(E.load_calendar)["actor"].default is None
    assert list(_params(E.confirm_expiry))[:2] == ["case_id", "clock"]
    _kw(E.confirm_expiry, "actor")
    _kw(E.confirm_expiry, "reason")
    _kw(E.confirm_expiry, "expected_version", None)


def test_build_engine_signature():
    p = _params(adapters.build_engine)
    assert list(p)[0] == "url" and p["url"].default == "memory://"
    assert p["definitions"].kind is inspect.Parameter.KEYWORD_ONLY and p["definitions"].default is None


def _fields(cls):
    return {f.name for f in dataclasses.fields(cls)}


def test_case_clock_event_escalation_fields():
    assert {
        "id", "number", "item_id", "definition_version", "state", "version", "org", "assignee",
        "data", "clocks",
    } <= _fields(workflow.Case)
    assert {"status", "statutory_due", "commitment_due", "sla", "provisional", "party"} <= _fields(
        workflow.Clock
    )
    assert {"trigger", "actor_id", "at", "from_state", "to_state", "data"} <= _fields(workflow.Event)
    assert {"case_id", "clock", "level", "due", "seen"} <= _fields(workflow.Escalation)
    for cls in (workflow.Case, workflow.Clock, workflow.Event, workflow.Escalation):
        assert cls.__dataclass_params__.frozen, cls  # values handed out cannot be changed in place


def test_enumerations():
    assert [s.value for s in workflow.Status] == ["not_started", "running", "paused", "stopped"]
    assert [x.value for x in workflow.Level] == ["warning", "overdue", "over_statutory", "expired", "deemed_accepted",
                                                "overrun"]
    assert {"on_track", "warning", "overdue", "over_statutory", "expired", "met", "met_late",
            "met_over_statutory", "deemed_accepted", "overrun"} == {s.value for s in workflow.Sla}


def test_the_core_imports_no_outer_layer():
    # dependencies point inward only (DESIGN, "Layers"); nothing is built at import time
    import ast
    import pathlib

    assert not any(isinstance(v, workflow.Engine) for v in vars(adapters).values())
    banned = ("adapters", "api", "sqlmodel", "sqlalchemy", "apscheduler", "fastapi")
    for path in pathlib.Path(workflow.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"
