"""Issue 14, class 2: idempotency keys belong to (user, org, operation). The same user id in two
orgs (a person who moved city keeps their SSO subject) never replays the other org's
``POST /api/cases`` or transition, and a replay passes the same org check as a fresh call: a case
outside the caller's subtree stays 404.

On the old code the Yichang ``zhang`` replayed Wuhan ``zhang``'s opening (naming Wuhan's org) and
transition, and got the Wuhan case back."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from adapters import build_engine
from tests.security.scope_stack import (
    JWT_SECRET,
    PLEDGE,
    PLEDGE_DATA,
    Stack,
    at,
    problem,
    stack_at,  # noqa: F401 - the fixture
)
from workflow import Actor, errors
from workflow.engine import _fingerprint, record_to_dict
from workflow.ports import IdempotencyRecord

WUHAN_ZHANG = Actor("zhang", {"clerk"}, "420100")
YICHANG_ZHANG = Actor("zhang", {"clerk"}, "420500")  # the same SSO subject, after moving city
NOW = "2024-03-04 10:00"


@pytest.fixture
def engine(store_url: str) -> Any:
    now = at(NOW)
    eng = build_engine(store_url, now=lambda: now)
    yield eng
    dispose = getattr(eng.store, "dispose", None)
    if dispose is not None:
        dispose()


def _everything(engine: Any) -> list[Any]:
    return [(c, engine.history(c.id), engine.deadlines(c.id)) for c in engine.list_cases()]


def test_the_same_user_id_in_another_org_never_replays_the_other_orgs_calls(engine: Any) -> None:
    case = engine.open_case(PLEDGE, actor=WUHAN_ZHANG, data=PLEDGE_DATA, idempotency_key="k-open")
    fired = engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="k-fire")
    before = _everything(engine)

    # the opening, naming Wuhan's org: judged afresh (Yichang cannot open for Wuhan), no replay
    with pytest.raises(errors.Forbidden):
        engine.open_case(PLEDGE, actor=YICHANG_ZHANG, data=PLEDGE_DATA, org="420100", idempotency_key="k-open")
    # the transition on the Wuhan case: not found, as a fresh call would be
    for trigger in ("accept", "request_supplement"):
        with pytest.raises(errors.CaseNotFound):
            engine.fire(case.id, trigger, actor=YICHANG_ZHANG, idempotency_key="k-fire")
    assert _everything(engine) == before

    # the same key in Yichang is Yichang's own: it opens Yichang's case
    own = engine.open_case(PLEDGE, actor=YICHANG_ZHANG, data=PLEDGE_DATA, idempotency_key="k-open")
    assert own.id != case.id and own.org == "420500"
    # and Wuhan's retries still replay Wuhan's results
    assert engine.open_case(PLEDGE, actor=WUHAN_ZHANG, data=PLEDGE_DATA, idempotency_key="k-open").id == case.id
    again = engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="k-fire")
    assert (again.id, again.version, again.state) == (fired.id, fired.version, fired.state)
    # an operation's key is not another operation's: the opening's key fires afresh (and is refused)
    with pytest.raises(errors.TransitionNotAllowed):
        engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="k-open")


def test_a_replay_passes_the_org_check_of_a_fresh_call(engine: Any) -> None:
    case = engine.open_case(PLEDGE, actor=WUHAN_ZHANG, data=PLEDGE_DATA, idempotency_key="k-open")
    engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="k-fire")
    boss = Actor("boss", {"supervisor"}, "420000")
    engine.transfer(case.id, "420500", actor=boss, reason="属宜昌市管辖")  # Wuhan loses the case
    before = _everything(engine)
    with pytest.raises(errors.CaseNotFound):
        engine.open_case(PLEDGE, actor=WUHAN_ZHANG, data=PLEDGE_DATA, idempotency_key="k-open")
    with pytest.raises(errors.CaseNotFound):
        engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="k-fire")
    assert _everything(engine) == before


def test_keys_stored_before_they_were_scoped_replay_only_under_the_same_checks(engine: Any) -> None:
    """A key written by the old code (its raw form, the fingerprint of then) still replays the
    same user's same call after the upgrade, but never across orgs."""
    case = engine.open_case(PLEDGE, actor=WUHAN_ZHANG, data=PLEDGE_DATA)
    accepted = engine.fire(case.id, "accept", actor=WUHAN_ZHANG)
    with engine.store.unit_of_work() as uow:
        rec = uow.get_case(case.id)
        old_fp = _fingerprint("fire", case.id, "accept", {}, "zhang", None)
        uow.put_idempotency(IdempotencyRecord("http:zhang:legacy", old_fp, case.id, record_to_dict(rec),
                                              at(NOW)))
        uow.commit()
    replay = engine.fire(case.id, "accept", actor=WUHAN_ZHANG, idempotency_key="http:zhang:legacy")
    assert (replay.version, replay.state) == (accepted.version, accepted.state)
    before = _everything(engine)
    with pytest.raises(errors.CaseNotFound):
        engine.fire(case.id, "accept", actor=YICHANG_ZHANG, idempotency_key="http:zhang:legacy")
    assert _everything(engine) == before


def test_over_http_the_same_subject_in_two_orgs_keeps_two_sets_of_keys(stack_at, sql_url: str) -> None:  # noqa: F811
    s: Stack = stack_at(sql_url, at(NOW))
    wuhan = s.client(bearer=s.token("zhang", "clerk", "420100"))
    moved = s.client(bearer=jwt.encode({"sub": "zhang", "org": "420500", "roles": ["clerk"], "exp": 4102444800},
                                       JWT_SECRET, algorithm="HS256"))  # the SSO subject, now in Yichang
    opened = wuhan.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA},
                        headers={"Idempotency-Key": "portal-778"})
    assert opened.status_code == 201, opened.text
    cid = opened.json()["id"]
    fired = wuhan.post(f"/api/cases/{cid}/transitions/accept", headers={"Idempotency-Key": "step-1"})
    assert fired.status_code == 200, fired.text
    root = s.client("root_admin")
    before = (root.get(f"/api/cases/{cid}").json(), root.get(f"/api/cases/{cid}/history").json())

    problem(moved.post("/api/cases", json={"item_id": PLEDGE, "org": "420100", "data": PLEDGE_DATA},
                       headers={"Idempotency-Key": "portal-778"}), 403)
    problem(moved.post(f"/api/cases/{cid}/transitions/accept", headers={"Idempotency-Key": "step-1"}), 404)
    assert (root.get(f"/api/cases/{cid}").json(), root.get(f"/api/cases/{cid}/history").json()) == before
    own = moved.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA},
                     headers={"Idempotency-Key": "portal-778"})
    assert own.status_code == 201 and own.json()["id"] != cid and own.json()["org"] == "420500"
    again = wuhan.post("/api/cases", json={"item_id": PLEDGE, "data": PLEDGE_DATA},
                       headers={"Idempotency-Key": "portal-778"})
    assert again.status_code == 201 and again.json()["id"] == cid
