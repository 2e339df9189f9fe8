"""A ladder the office sets (issue 18 part 7): an office's override of 专利权质押登记 warns two
working days before the commitment's last day, reminds the assignee and the supervisor each
working day at 09:00 while the case is overdue, and at 超法定时限 tells the supervisor and the
leaders and reassigns the case to a supervisor.

Dates hand-checked. 2026 is official; 2027 is not in the official data yet, so it is counted by
the law (《全国年节及纪念日放假办法》): 元旦 Fri 2027-01-01 off, Sat 01-02 and Sun 01-03 a weekend.
Paper filing: 5 working days, commitment floor(2/3 × 5) = 3 working days.
"""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from adapters import build_engine
from adapters.directory import MemoryDirectory, Person
from adapters.notify import render
from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    LEADERS,
    ORG,
    SUPERVISORS,
    at,
    ladder,
    refused_at_load,
    roles,
    sweep_at,
    walk,
)
from workflow.definition import load_text
from workflow.errors import DefinitionError

ITEM = "patent_pledge_registration"
PLEDGE = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉光谷智能装备有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202310000001.X", "secured_amount": 5_000_000,
}
OVERRIDE = textwrap.dedent(
    """\
    override: patent_pledge_registration
    reason: 本局升级规则：承诺期限前两个工作日预警；超承诺时限后每个工作日9时催办；超法定时限报局领导并改派科长
    escalation:
      warning: {before_commitment: 2 working days}
      overdue: {remind: "working days 09:00", notify: [assignee, supervisor]}
      over_statutory: {notify: [supervisor, leader], reassign_to: supervisor}
    """
)
PEOPLE = [
    Person("zhou.kz", "周科长", frozenset({"supervisor"}), ORG),
    Person("li.kz", "李科长", frozenset({"supervisor"}), ORG),  # first by id: the one chosen
    Person("wu.kz", "吴科长", frozenset({"supervisor"}), "420500"),  # another city: never chosen
    Person("old.kz", "退休科长", frozenset({"supervisor"}), ORG, active=False),
]


@pytest.fixture
def office(tmp_path):
    path = tmp_path / "pledge_ladder.yaml"
    path.write_text(OVERRIDE, encoding="utf-8")
    engine = build_engine("memory://", overrides=[path])
    engine.people = MemoryDirectory(PEOPLE)
    return engine


def opened(engine, freezer, when):
    freezer.move_to(at(when))
    case = engine.open_case(ITEM, actor=CLERK, data=PLEDGE)
    return walk(engine, case.id, ("accept", CLERK))  # at the window no longer: no 一次性告知 in play


def reminders(engine, case_id):
    return [(e.data["day"], e.data["level"]) for e in engine.history(case_id) if e.kind == "reminded"]


def told(engine, case_id, topic):
    return [m for m in engine.store.outbox() if m.topic == topic and m.case_id == case_id]


def test_the_warning_two_working_days_before_the_commitment_across_new_year(office, freezer):
    case = opened(office, freezer, "2026-12-29 10:00")
    clock = case.clocks["handling"]
    # Tue 12-29: Wed 12-30 1, Thu 12-31 2, (01-01 元旦, 01-02/03 weekend) Mon 01-04 3, 01-05 4, 01-06 5
    assert (clock.statutory_due, clock.commitment_due) == (date(2027, 1, 6), date(2027, 1, 4))
    # 1 working day before Mon 01-04 is Thu 12-31 (across 元旦 and the weekend), 2 before is Wed 12-30
    assert clock.warning_at == at("2026-12-30 00:00")
    ladder(office, freezer, [
        ("2026-12-30 00:00", [("handling", "warning")]),
        ("2027-01-05 00:00", [("handling", "overdue")]),
    ], case.id)
    # the shipped definition without the office's override warns on the last working day before
    plain = build_engine("memory://")
    base = opened(plain, freezer, "2026-12-29 10:00").clocks["handling"]
    assert (base.commitment_due, base.warning_at) == (date(2027, 1, 4), at("2026-12-31 00:00"))


def test_reminders_each_working_day_at_nine_while_overdue_then_reassigned_at_over_statutory(office, freezer):
    case = opened(office, freezer, "2026-12-25 10:00")
    clock = case.clocks["handling"]
    # Fri 12-25: Mon 12-28 1, 12-29 2, Wed 12-30 3 (commitment), Thu 12-31 4, (元旦, weekend) Mon 01-04 5
    assert (clock.statutory_due, clock.commitment_due) == (date(2027, 1, 4), date(2026, 12, 30))
    assert clock.warning_at == at("2026-12-28 00:00")  # 2 working days before Wed 12-30: Mon 12-28
    ladder(office, freezer, [
        ("2026-12-28 00:00", [("handling", "warning")]),
        ("2026-12-31 00:00", [("handling", "overdue")]),
        ("2026-12-31 09:00", [("handling", "remind:2026-12-31")]),
    ], case.id)
    assert sweep_at(office, freezer, "2026-12-31 17:30", case.id) == []  # one reminder a working day
    for holiday in ("2027-01-01 09:00", "2027-01-02 09:00", "2027-01-03 09:00", "2027-01-03 23:59"):
        assert sweep_at(office, freezer, holiday, case.id) == [], holiday  # 元旦 and the weekend: none
    ladder(office, freezer, [("2027-01-04 09:00", [("handling", "remind:2027-01-04")])], case.id)
    assert reminders(office, case.id) == [("2026-12-31", "overdue"), ("2027-01-04", "overdue")]

    # who hears: the overdue level and its reminders the assignee (none yet: the state's examiners)
    # and the supervisors; the reminder says so in Chinese
    overdue = [m for m in told(office, case.id, "escalation") if m.payload["level"] == "overdue"]
    assert overdue[0].payload["audience"] == [*roles("examiner"), *SUPERVISORS]
    first = told(office, case.id, "reminder")[0]
    assert first.payload["audience"] == [*roles("examiner"), *SUPERVISORS]
    assert (first.payload["reminder_of"], first.payload["day"]) == ("overdue", "2026-12-31")
    subject, body = render(first)
    assert subject.startswith("【催办】") and "超过承诺时限" in body

    # 00:00 after the statutory last day (Mon 01-04): supervisors and leaders told; reassigned to
    # the first active supervisor of the case's own org by id
    ladder(office, freezer, [("2027-01-05 00:00", [("handling", "over_statutory")])], case.id)
    after = office.get_case(case.id)
    assert after.assignee == "li.kz"
    moved = [e for e in office.history(case.id) if e.kind == "assigned"]
    assert [(e.actor_id, e.data["from"], e.data["to"]) for e in moved] == [("system", None, "li.kz")]
    assert moved[0].data["escalation"] == {"clock": "handling", "level": "over_statutory", "role": "supervisor"}
    over = [m for m in told(office, case.id, "escalation") if m.payload["level"] == "over_statutory"]
    assert over[0].payload["audience"] == [*SUPERVISORS, *LEADERS, {"user": "li.kz"}]
    # the reminders go on (over_statutory sets none: the overdue level's), now to the new assignee
    ladder(office, freezer, [("2027-01-05 09:00", [("handling", "remind:2027-01-05")])], case.id)
    assert told(office, case.id, "reminder")[-1].payload["audience"] == [{"user": "li.kz"}, *SUPERVISORS]

    # closed: no more reminders, the next day's row is cancelled
    freezer.move_to(at("2027-01-05 15:00"))
    walk(office, case.id, ("approve", EXAMINER))
    assert sweep_at(office, freezer, "2027-01-06 09:00", case.id) == []
    assert len(reminders(office, case.id)) == 3
    rows = {d.level: d.state for d in office.deadlines(case.id) if d.level.startswith("remind:")}
    assert rows == {"remind:2026-12-31": "fired", "remind:2027-01-04": "fired", "remind:2027-01-05": "fired",
                    "remind:2027-01-06": "cancelled"}
    # a reminder is no escalation: the month's report does not count it
    from adapters.reports import ReportService

    line = ReportService(office).compute(2027, 1).line(ORG, ITEM)
    assert line.measures["escalations"]["over_statutory"] == 1
    assert not any(k.startswith("remind") for k in line.measures["escalations"])


def test_a_missed_reminder_is_not_sent_late_and_a_paused_clock_is_not_reminded(office, freezer):
    case = opened(office, freezer, "2026-12-25 10:00")
    # nothing swept until Mon 01-04 10:00 (the service was down over 元旦): the levels fire once
    # each, the 12-31 reminder is not sent late, today's is
    fired = sweep_at(office, freezer, "2027-01-04 10:00", case.id)
    assert fired == [("handling", "warning"), ("handling", "overdue"), ("handling", "remind:2027-01-04")]
    assert reminders(office, case.id) == [("2027-01-04", "overdue")]
    # 补正: the clock is paused (the applicant's time): no reminder while it waits
    walk(office, case.id, ("request_supplement", EXAMINER, {"supplement_items": "质押合同原件"}))
    assert sweep_at(office, freezer, "2027-01-05 09:00", case.id) == []
    assert reminders(office, case.id) == [("2027-01-04", "overdue")]


def test_nobody_holds_the_role_the_level_reassigns_to(office, freezer):
    office.people = MemoryDirectory([p for p in PEOPLE if p.org != ORG])  # no supervisor in Wuhan
    case = opened(office, freezer, "2026-12-25 10:00")
    assert sweep_at(office, freezer, "2027-01-05 00:00", case.id)[-1] == ("handling", "over_statutory")
    after = office.get_case(case.id)
    assert after.assignee is None  # left as it was
    [unfilled] = [e for e in office.history(case.id) if e.kind == "reassign_unfilled"]
    assert (unfilled.data["role"], unfilled.data["org"], unfilled.actor_id) == ("supervisor", ORG, "system")
    over = [m for m in told(office, case.id, "escalation") if m.payload["level"] == "over_statutory"]
    assert {"role": "supervisor", "org": ORG} in over[0].payload["audience"]  # told instead (climbs the tree)
    assert office.sweep() == []  # exactly once


def test_without_a_block_the_ladder_is_today_s(freezer):
    engine = build_engine("memory://")
    case = opened(engine, freezer, "2026-12-25 10:00")
    fired = sweep_at(engine, freezer, "2027-01-05 09:00", case.id)
    assert fired == [("handling", "warning"), ("handling", "overdue"), ("handling", "over_statutory")]
    assert reminders(engine, case.id) == [] and engine.get_case(case.id).assignee is None
    assert not [d for d in engine.deadlines(case.id) if d.level.startswith("remind:")]


# --- validated on load ------------------------------------------------------------------------------

SAMPLE = textwrap.dedent(
    """\
    id: sample_item
    name: 样例事项
    initial: received
    states: {received: {label: 已收件, roles: [clerk]}, done: {label: 办结, final: true}}
    transitions: [{trigger: finish, source: received, dest: done, roles: [clerk]}]
    clocks:
      handling: {limit: 5 working days, start: received, stop: [done]}
    escalation:
      warning: {before_commitment: 2 working days}
    """
)


@pytest.mark.parametrize(("block", "path", "words"), [
    ("  warning: {before_commitment: 2 days}", "escalation.warning.before_commitment", "working days"),
    ("  warning: {before_commitment: 2 working days, share_of_commitment: 0.5}", "escalation.warning", "not both"),
    ("  warning: {share_of_commitment: 1.5}", "escalation.warning.share_of_commitment", "between 0 and 1"),
    ("  overdue: {remind: daily}", "escalation.overdue.remind", "working days HH:MM"),
    ("  overdue: {remind: \"working days 25:00\"}", "escalation.overdue.remind", "working days HH:MM"),
    ("  overdue: {notify: [assignee, boss]}", "escalation.overdue.notify", "'boss'"),
    ("  over_statutory: {reassign_to: janitor}", "escalation.over_statutory.reassign_to", "reassign_to is a role"),
    ("  warning: {reassign_to: supervisor}", "escalation.warning.reassign_to", "unknown key"),
    ("  breach: {notify: [leader]}", "escalation.breach", "unknown level"),
])
def test_an_invalid_block_is_refused_naming_file_line_and_field(block, path, words):
    refused_at_load(SAMPLE.replace("  warning: {before_commitment: 2 working days}", block), "sample_item.yaml",
                    path, words, block)


def test_the_block_loads_and_reaches_the_office_clocks():
    d = load_text(SAMPLE, "sample_item.yaml")
    assert d.clocks["handling"].warning is not None and d.clocks["handling"].warning.before == 2
    assert d.escalation.effective({})["warning"]["before_commitment"] == "2 working days"


@pytest.mark.parametrize(("patch", "path"), [
    ("  warning: {before_commitment: 1 working day}", "escalation.warning.before_commitment"),
    ("  overdue: {notify: [supervisor]}", "escalation.overdue.notify"),
])
def test_an_override_may_tighten_the_ladder_never_loosen_it(tmp_path, patch, path):
    base = SAMPLE + "  overdue: {notify: [assignee, supervisor], remind: \"working days 09:00\"}\n"
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "sample_item.yaml").write_text(base, encoding="utf-8")
    looser = tmp_path / "looser.yaml"
    looser.write_text(f"override: sample_item\nescalation:\n{patch}\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        build_engine("memory://", definitions=[tmp_path / "defs"], overrides=[looser])
    assert [p.path for p in exc.value.problems] == [path]
    assert "looser.yaml" in str(exc.value)
    tighter = tmp_path / "tighter.yaml"
    tighter.write_text("override: sample_item\nescalation:\n  warning: {before_commitment: 3 working days}\n"
                       "  over_statutory: {notify: [leader], reassign_to: supervisor}\n", encoding="utf-8")
    engine = build_engine("memory://", definitions=[tmp_path / "defs"], overrides=[tighter])
    ladder_ = engine.definition("sample_item").escalation
    assert ladder_.warning.before == 3 and ladder_.rung("overdue").remind is not None  # kept from the base
    assert ladder_.rung("over_statutory").reassign_to == "supervisor"


def test_a_share_of_the_commitment_as_docs_escalation_md_says(tmp_path, freezer):
    path = tmp_path / "share.yaml"
    path.write_text("override: patent_pledge_registration\nescalation:\n  warning: {share_of_commitment: 0.75}\n",
                    encoding="utf-8")
    engine = build_engine("memory://", overrides=[path])
    clock = opened(engine, freezer, "2026-12-29 10:00").clocks["handling"]
    # ⌈0.75 × 3⌉ = 3 units: all of the commitment, so 00:00 of its last day, Mon 2027-01-04
    assert (clock.commitment_due, clock.warning_at) == (date(2027, 1, 4), at("2027-01-04 00:00"))


def test_a_deadline_write_takes_the_ladder_of_the_definition_it_is_given(office, freezer, monkeypatch):
    """Writing a case's deadline rows (each step, each sweep) reads the reminders' ladder from the
    definition the caller already holds: it asks the registry nothing again."""
    case = opened(office, freezer, "2026-12-25 10:00")
    defn = office.registry.get(ITEM, case.definition_version)
    asked = []
    real = office.registry.get
    monkeypatch.setattr(office.registry, "get", lambda *a, **kw: asked.append(a) or real(*a, **kw))
    with office.store.unit_of_work() as uow:
        rec = uow.get_case(case.id, for_update=True)
        office._write_deadlines(uow, rec, defn)
        rows = uow.deadlines(case.id)
        uow.commit()
    assert asked == []
    assert "remind:2026-12-31" in {d.level for d in rows if d.state == "pending"}  # the ladder was read
