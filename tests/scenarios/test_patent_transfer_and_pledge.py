"""专利转让与质押登记一件事 (bundle): one application opens a transfer filing and a pledge
registration; its own clock is as long as the longest child's (5 wd, office); it closes, by the
system, when the last child closes, with every child's outcome (a refusal included) on it."""

from datetime import date

import pytest

from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    audiences,
    due,
    ladder,
    refused,
    told,
    walk,
)
from workflow import errors

ITEM = "patent_transfer_and_pledge"
DATA = {
    "transferor": "某研究院", "transferee": "武汉某科技有限公司", "pledgor": "武汉某科技有限公司",
    "pledgee": "某银行武汉分行", "patent_numbers": "ZL202010000004.5", "channel": "online",
    "transfer_price": 800_000, "secured_amount": 3_000_000,
}


def open_bundle(engine):
    bundle = engine.open_case(ITEM, actor=CLERK, data=DATA)
    kids = {engine.get_case(k).item_id: engine.get_case(k) for k in bundle.children}
    return bundle, kids["patent_right_transfer_filing"], kids["patent_pledge_registration"]


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_one_application_opens_both_children_and_closes_with_the_last(engine, freezer):
    bundle, transfer, pledge = open_bundle(engine)
    assert len(bundle.children) == 2
    assert {transfer.parent_id, pledge.parent_id} == {bundle.id}
    assert transfer.org == pledge.org == bundle.org == "420100"
    assert engine.history(pledge.id)[0].data["bundle"] == bundle.id
    # Fri 02-09; Spring Festival 02-10..02-17 off; Sun 02-18 a workday.
    # bundle: the longest child's main clock (the pledge's paper 5 wd, the transfer's 5 wd),
    # not compressed (office): 02-18, 02-19, 02-20, 02-21, 02-22 → 02-22
    assert bundle.clocks["handling"].limit == "5 working days"
    assert due(bundle, "handling") == (date(2024, 2, 22), date(2024, 2, 22))
    assert due(transfer, "handling") == (date(2024, 2, 22), date(2024, 2, 22))
    # the pledge child takes the bundle's channel: online 2 wd → 02-18, 02-19; commitment 1 → 02-18
    assert due(pledge, "handling") == (date(2024, 2, 19), date(2024, 2, 18))
    freezer.move_to("2024-02-18 10:00:00+08:00")
    walk(engine, pledge.id, ("accept", CLERK), ("refuse", EXAMINER, {"reason": "质押合同与出质人不符"}))
    assert engine.get_case(bundle.id).state == "open"  # one child still open
    freezer.move_to("2024-02-20 10:00:00+08:00")
    walk(engine, transfer.id, ("accept", CLERK), ("approve", EXAMINER))
    done = engine.get_case(bundle.id)
    assert done.state == "closed" and done.final and done.closed_at is not None
    assert done.data["children_outcomes"] == {
        "patent_right_transfer_filing": "registered", "patent_pledge_registration": "refused",
    }
    assert done.clocks["handling"].sla == "met"
    last = engine.history(bundle.id)[-1]
    assert (last.trigger, last.actor_id) == ("children_closed", "system")


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_withdrawing_the_application_is_withdrawing_each_child(engine):
    bundle, transfer, pledge = open_bundle(engine)
    walk(engine, transfer.id, ("withdraw", CLERK))
    assert engine.get_case(bundle.id).state == "open"
    walk(engine, pledge.id, ("withdraw", CLERK))
    done = engine.get_case(bundle.id)
    assert done.state == "closed"
    assert set(done.data["children_outcomes"].values()) == {"withdrawn"}


@pytest.mark.freeze_time("2024-02-07 10:00:00+08:00")
def test_a_childs_supplement_pauses_that_child_only(engine, freezer):
    bundle, transfer, pledge = open_bundle(engine)
    freezer.move_to("2024-02-08 10:00:00+08:00")
    paused = walk(engine, transfer.id, ("request_supplement", CLERK, {"supplement_items": "转让合同"}))
    assert paused.clocks["handling"].status == "paused"
    assert engine.get_case(pledge.id).clocks["handling"].status == "running"
    # the one-stop clock is the applicant's view of the office: it keeps running.
    # Wed 02-07: 02-08, 02-09, (holiday) 02-18, 02-19, 02-20 → 02-20
    still = engine.get_case(bundle.id)
    assert still.clocks["handling"].status == "running"
    assert due(still, "handling") == (date(2024, 2, 20), date(2024, 2, 20))
    freezer.move_to("2024-02-19 10:00:00+08:00")
    resumed = walk(engine, transfer.id, ("resubmit", CLERK))
    # 1 used (02-08); 4 left from 02-20: 02-20, 02-21, 02-22, 02-23 (past the bundle's 02-20)
    assert due(resumed, "handling") == (date(2024, 2, 23), date(2024, 2, 23))


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_breach_of_the_one_stop_clock(engine, freezer):
    bundle, _, _ = open_bundle(engine)
    ladder(engine, freezer, [
        ("2024-02-21 00:00", [("handling", "warning")]),
        ("2024-02-23 00:00", [("handling", "overdue"), ("handling", "over_statutory")]),
    ], bundle.id)
    assert audiences(engine, bundle.id) == told("handling", "clerk")  # the window holds the bundle
    assert engine.get_case(bundle.id).sla == "over_statutory"


@pytest.mark.freeze_time("2024-02-09 10:00:00+08:00")
def test_refusals(engine):
    bundle, transfer, _ = open_bundle(engine)
    refused(engine, bundle.id, "children_closed", CLERK, errors.Forbidden)  # the system closes it
    refused(engine, bundle.id, "withdraw", CLERK, errors.TransitionNotAllowed)  # withdraw the children
    refused(engine, transfer.id, "approve", EXAMINER, errors.TransitionNotAllowed)
    opened = len(engine.list_cases())
    with pytest.raises(errors.MissingData) as exc:
        engine.open_case(ITEM, actor=CLERK, data={**DATA, "channel": None})
    assert exc.value.fields == {"channel": "required"}
    assert len(engine.list_cases()) == opened  # no child was opened either
    with pytest.raises(errors.Forbidden):
        engine.open_case(ITEM, actor=EXAMINER, data=DATA)
