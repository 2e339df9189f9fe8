"""知识产权“面对面”及TISC服务申请: receipt 1 wd, assignment 2 wd (a step), delivery 5/10/20 wd by
the kind of service (consultation / patent search / training); all the office's own commitments,
not compressed again. Waiting for the applicant pauses the delivery clock. The monthly report
counts the delivered requests by channel and by kind."""

from datetime import date

import pytest

from adapters.reports import ReportService
from tests.scenarios.conftest import (
    CLERK,
    EXAMINER,
    SUPERVISOR,
    audiences,
    due,
    escalations,
    ladder,
    levels,
    refused,
    told,
    walk,
)
from workflow import errors

ITEM = "ip_service_request"


def open_request(engine, channel="face_to_face", service_type="consultation", applicant="武汉某光电有限公司"):
    return engine.open_case(ITEM, actor=CLERK, data={
        "applicant": applicant, "contact": "张三 027-00000000", "channel": channel,
        "service_type": service_type, "request": "了解专利布局和检索方法",
    })


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_happy_path_receipt_assignment_delivery(engine, freezer):
    case = open_request(engine)
    # Mon 04-01; 04-04..04-06 off, Sun 04-07 a workday. receipt 1 wd → 04-02;
    # consultation 5 wd: 04-02, 04-03, 04-07, 04-08, 04-09 → 04-09 (commitment = limit).
    assert due(case, "receipt") == (date(2024, 4, 2), date(2024, 4, 2))
    assert due(case, "handling") == (date(2024, 4, 9), date(2024, 4, 9))
    assert case.main_clock == "handling"
    search = open_request(engine, "tisc", "patent_search")
    assert due(search, "handling") == (date(2024, 4, 16), date(2024, 4, 16))  # 10 wd
    accepted = walk(engine, case.id, ("accept", CLERK))
    assert accepted.clocks["receipt"].sla == "met"
    # the assignment step: 2 wd from 04-01 → 04-03
    assert due(accepted, "accepted") == (date(2024, 4, 3), date(2024, 4, 3))
    freezer.move_to("2024-04-02 10:00:00+08:00")
    serving = walk(engine, case.id, ("assign", SUPERVISOR, {"provider": "李四"}))
    assert serving.state == "serving" and serving.clocks["accepted"].sla == "met"
    freezer.move_to("2024-04-08 15:00:00+08:00")
    done = walk(engine, case.id, ("deliver", EXAMINER, {"delivered_on": "2024-04-08",
                                                         "delivery_summary": "面对面讲解检索策略"}))
    assert done.state == "delivered" and done.closed_at is not None
    assert done.clocks["handling"].sla == "met" and done.sla == "met"


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_waiting_for_the_applicant_pauses_delivery(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK), ("assign", SUPERVISOR, {"provider": "李四"}))
    freezer.move_to("2024-04-02 10:00:00+08:00")
    paused = walk(engine, case.id, ("request_information", EXAMINER, {"information_needed": "确认面谈时间"}))
    assert paused.clocks["handling"].status == "paused"
    freezer.move_to("2024-04-10 10:00:00+08:00")
    resumed = walk(engine, case.id, ("resubmit", CLERK))
    # 1 used (04-02); 4 left from Thu 04-11: 04-11, 04-12, 04-15, 04-16 → 04-16
    assert resumed.state == "serving" and resumed.clocks["handling"].status == "running"
    assert due(resumed, "handling") == (date(2024, 4, 16), date(2024, 4, 16))


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_breach_of_the_assignment_step(engine, freezer):
    case = walk(engine, open_request(engine).id, ("accept", CLERK))
    ladder(engine, freezer, [
        ("2024-04-02 00:00", [("accepted", "warning")]),  # the working day before 04-03
        ("2024-04-04 00:00", [("accepted", "overdue"), ("accepted", "over_statutory")]),
    ], case.id)
    freezer.move_to("2024-04-07 09:00:00+08:00")
    assigned = walk(engine, case.id, ("assign", SUPERVISOR, {"provider": "李四"}))
    assert assigned.clocks["accepted"].sla == "met_over_statutory"
    assert escalations(engine, case.id) == levels("accepted")
    assert audiences(engine, case.id) == told("accepted", "supervisor")


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_refused_transitions_leave_the_case_unchanged(engine):
    case = open_request(engine)
    refused(engine, case.id, "assign", SUPERVISOR, errors.TransitionNotAllowed, {"provider": "李四"})
    refused(engine, case.id, "decline", SUPERVISOR, errors.MissingData)
    refused(engine, case.id, "decline", CLERK, errors.Forbidden, {"reason": "不属于服务范围"})
    walk(engine, case.id, ("accept", CLERK))
    refused(engine, case.id, "assign", EXAMINER, errors.Forbidden, {"provider": "李四"})
    refused(engine, case.id, "assign", SUPERVISOR, errors.MissingData)
    walk(engine, case.id, ("assign", SUPERVISOR, {"provider": "李四"}))
    refused(engine, case.id, "deliver", EXAMINER, errors.MissingData, {"delivered_on": "2024-04-01"})
    refused(engine, case.id, "decline", SUPERVISOR, errors.TransitionNotAllowed, {"reason": "x"})


@pytest.mark.freeze_time("2024-04-01 10:00:00+08:00")
def test_the_monthly_report_counts_delivered_requests_by_channel_and_kind(engine, freezer):
    def deliver(case):
        return walk(engine, case.id, ("accept", CLERK), ("assign", SUPERVISOR, {"provider": "李四"}),
                    ("deliver", EXAMINER, {"delivered_on": "2024-04-02", "delivery_summary": "已提供"}))

    deliver(open_request(engine, "face_to_face", "consultation"))
    deliver(open_request(engine, "tisc", "patent_search"))
    deliver(open_request(engine, "tisc", "patent_search", applicant="湖北某大学"))
    deliver(open_request(engine, "tisc", "training"))
    walk(engine, open_request(engine, "face_to_face", "training").id, ("withdraw", CLERK))  # not counted
    open_request(engine, "face_to_face", "consultation")  # still open: not counted
    freezer.move_to("2024-05-02 10:00:00+08:00")
    report = ReportService(engine).compute(2024, 4)
    line = report.line("420100", ITEM)
    assert line.measures["closed"] == 5 and line.measures["withdrawn"] == 1
    assert line.measures["figures"] == {"face_to_face": 1, "tisc": 3, "patent_search": 2, "training": 1,
                                        "consultation": 1}
    assert report.figure_labels[ITEM] == {
        "face_to_face": "面对面服务数", "tisc": "TISC服务数", "patent_search": "专利信息检索帮助数",
        "training": "培训数", "consultation": "咨询数"}
