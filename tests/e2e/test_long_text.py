"""Long text over real HTTP (QA): a value past its field's most characters is a 422 naming the
field, the case unchanged; the definition lists each text field's limit; a case stored earlier with
a longer value still prints as HTML, and its PDF is refused at once (422) rather than laid out for
minutes."""

from __future__ import annotations

from datetime import datetime

from workflow.legaltime import TZ

from .conftest import PLEDGE, Stack, open_pledge, problem


def test_too_long_text_is_refused_naming_the_field(timed: Stack) -> None:
    clerk, examiner = timed.wuhan_clerk, timed.wuhan_examiner
    timed.clock.at = datetime(2024, 3, 4, 9, 0, tzinfo=TZ)
    case = open_pledge(clerk, channel="paper")
    cid = case["id"]
    assert clerk.post(f"/api/cases/{cid}/transitions/accept").status_code == 200
    before = clerk.get(f"/api/cases/{cid}").json()
    body = problem(examiner.post(f"/api/cases/{cid}/transitions/request_supplement",
                                 json={"data": {"supplement_items": "长" * 340_000}}), 422)
    assert body["code"] == "invalid_data"
    assert body["fields"] == {"supplement_items": "too long: 340000 characters (at most 5000)"}
    after = clerk.get(f"/api/cases/{cid}").json()
    assert (after["version"], after["state"]) == (before["version"], before["state"])
    problem(clerk.post("/api/cases", json={"item_id": PLEDGE, "data": {"pledgor": "甲" * 201}}), 422)

    fields = {f["name"]: f for f in clerk.get(f"/api/definitions/{PLEDGE}").json()["fields"]}
    assert fields["pledgor"]["rules"]["max_length"] == 200
    assert fields["patent_numbers"]["rules"]["max_length"] == 5000


def test_a_stored_long_value_prints_as_html_and_its_pdf_is_refused_at_once(timed: Stack) -> None:
    clerk = timed.wuhan_clerk
    timed.clock.at = datetime(2024, 3, 4, 9, 0, tzinfo=TZ)
    cid = open_pledge(clerk, channel="paper")["id"]
    assert clerk.post(f"/api/cases/{cid}/transitions/accept").status_code == 200
    with timed.engine.store.unit_of_work() as uow:  # stored before the limit: past it
        rec = uow.get_case(cid, for_update=True)
        rec.data["pledgor"] = "长" * 340_000
        rec.version += 1
        uow.save_case(rec, rec.version - 1)
        uow.commit()
    page = clerk.get(f"/api/cases/{cid}/documents/acceptance_notice")
    assert page.status_code == 200 and "长" * 340_000 in page.text
    body = problem(clerk.get(f"/api/cases/{cid}/documents/acceptance_notice", params={"format": "pdf"}), 422)
    assert body["code"] == "document_too_large" and "打印版" in body["reason"]
