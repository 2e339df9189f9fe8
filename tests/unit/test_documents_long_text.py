"""Documents of cases whose stored text is long (QA: a 340,000-character 延期理由 kept the PDF
renderer busy for minutes, and a 请求事项 of 2,000 characters in the receipt's table could not be
laid out at all). Stored values are written past the new field limits (straight through the store,
or into the history the renderer reads), as cases stored before the limits hold them. No timing
here: bench/long_text_docs.py and docs/performance.md, "Long text in documents"."""

from __future__ import annotations

import dataclasses
import io
import re

import pypdf
import pytest

from adapters import build_engine
from adapters.documents import (
    CHUNK,
    MAX_PDF_CHARS,
    DocumentRenderer,
    DocumentTooLarge,
    chunks,
    html_to_pdf,
)
from workflow import Actor

ORG = "420100"
CLERK = Actor("clerk-1", {"clerk"}, ORG, "窗口")
LEADER = Actor("leader-1", {"leader"}, ORG, "局领导")
PLEDGE = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉甲科技有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202010000001.1", "secured_amount": 5_000_000,
}
ADJ = "patent_infringement_adjudication"


def pdf_text(blob: bytes) -> str:
    assert blob.startswith(b"%PDF-")
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(blob)).pages)


def plain(markup: str) -> str:
    return re.sub(r"<[^>]*>", "", markup)


@pytest.fixture
def engine():
    return build_engine("memory://")


def store_value(engine, case_id: str, name: str, value: str) -> list:
    """Write a value past the field's limit straight through the store (a case stored earlier),
    and the history as it would read (the receipt prints what the opening event received)."""
    with engine.store.unit_of_work() as uow:
        rec = uow.get_case(case_id, for_update=True)
        rec.data[name] = value
        rec.version += 1
        uow.save_case(rec, rec.version - 1)
        uow.commit()
    events = engine.history(case_id)
    events[0] = dataclasses.replace(events[0], data={**events[0].data, name: value})
    return events


@pytest.mark.parametrize("markup", [
    "长" * 5000,
    "甲。" * 2400 + "乙" * 300,
    "前言<b>" + "重" * 2500 + "</b>后记" + "x" * 1500,
    ("第一项；<br/>" + "内容" * 300) * 6,
    "a &amp; b &lt; c " * 800,
])
def test_long_markup_is_cut_into_balanced_pieces_that_keep_every_character(markup):
    pieces = chunks(markup)
    assert len(pieces) > 1
    assert "".join(plain(p) for p in pieces) == plain(markup)
    for p in pieces:
        text = re.sub(r"&#?\w+;", "&", plain(p))
        assert len(text) <= CHUNK
        assert p.count("<b>") == p.count("</b>")
    assert chunks("短") == ["短"]


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_a_receipt_with_a_long_stored_field_in_its_table_is_laid_out(engine):
    """Old code: a cell taller than a page was a LayoutError (a 500) from 2,000 characters on."""
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    numbers = "，".join(f"ZL2020100{i:05d}.1" for i in range(3000)) + "，末尾的专利号"  # ~60,000 characters
    events = store_value(engine, case.id, "patent_numbers", numbers)
    case = engine.get_case(case.id)
    assert len(case.data["patent_numbers"]) > 50_000
    d = engine.definition(case.item_id, case.definition_version)
    r = DocumentRenderer(org_name=engine.orgs.name)
    assert numbers in r.html("receipt", case, d, events=events)
    text = pdf_text(r.pdf("receipt", case, d, events=events))
    assert "全文见表后" in text and "末尾的专利号" in text and "ZL202010002999.1" in text


@pytest.mark.freeze_time("2024-07-01 10:00:00+08:00")
def test_an_extension_notice_with_a_long_stored_reason_is_laid_out(engine):
    case = engine.open_case(ADJ, actor=CLERK, data={
        "requester": "甲科技有限公司", "respondent": "乙制造有限公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201810000006.7", "patent_type": "invention", "claims": "停止制造"})
    case = engine.fire(case.id, "extend_filing", actor=LEADER, data={"reason": "复杂", "approver": "局长 张明"})
    events = engine.history(case.id)
    reason = "长" * 40_000 + "理由至此"  # ~27 pages of one paragraph: minutes' worth for the old layout
    events[-1] = dataclasses.replace(events[-1], data={**events[-1].data, "reason": reason})
    d = engine.definition(case.item_id, case.definition_version)
    r = DocumentRenderer(org_name=engine.orgs.name)
    text = pdf_text(r.pdf("extension_notice", case, d, events=events, check=True))
    assert "延期通知书" in text and "理由至此" in text and "局长 张明" in text


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_a_page_past_the_pdf_bound_is_refused_at_once_and_still_prints_as_html(engine):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    events = store_value(engine, case.id, "patent_numbers", "长" * 340_000)
    case = engine.get_case(case.id)
    d = engine.definition(case.item_id, case.definition_version)
    r = DocumentRenderer(org_name=engine.orgs.name)
    page = r.html("receipt", case, d, events=events)
    assert "长" * 340_000 in page
    with pytest.raises(DocumentTooLarge) as exc:
        r.pdf("receipt", case, d, events=events)
    assert exc.value.size > MAX_PDF_CHARS and "打印版" in exc.value.reason
    with pytest.raises(DocumentTooLarge):
        html_to_pdf("<p>" + "x" * (MAX_PDF_CHARS + 1) + "</p>")


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_patent_numbers_joined_by_commas_wrap_whole_and_the_labels_keep_their_column(engine):
    """QA D3: numbers joined by ASCII commas without spaces (as 专利号（多件以逗号分隔） invites) were
    cut in the middle (ZL20231000000 / 3.X) in the PDF, and in the print view the label column
    shrank to one character a line (登/记/类/型). Now the value breaks after its commas, and the
    labels stand whole in a column of their own, left of the values."""
    numbers = ",".join(f"ZL2023100000{i:02d}.X" for i in range(40))
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data={**PLEDGE, "patent_numbers": numbers})
    d = engine.definition(case.item_id, case.definition_version)
    r = DocumentRenderer(org_name=engine.orgs.name)
    page = r.html("receipt", case, d, events=engine.history(case.id))
    assert "ZL202310000000.X,<wbr>ZL202310000001.X" in page  # a break after each comma; the text unchanged
    assert "td { overflow-wrap: anywhere; }" in page and 'th[scope="row"] { width: 32%; }' in page
    blob = r.pdf("receipt", case, d, events=engine.history(case.id))
    lines = pdf_text(blob).splitlines()
    for label in ("登记类型", "办理渠道", "出质人", "质权人", "专利号"):
        assert label in lines, label  # each label on one line of its own
    pieces = [p for line in lines for p in re.findall(r"ZL[0-9.X]*", line)]
    assert pieces and all(re.fullmatch(r"ZL2023100000\d\d\.X", p) for p in pieces), pieces  # none cut
    assert {f"ZL2023100000{i:02d}.X" for i in range(40)} <= set(pieces)
    # where they stand: the labels' column starts at the page's left, the values' a third across
    at: dict[str, float] = {}

    def seen(text, cm, tm, font, size):
        for key in ("登记类型", "ZL202310000000.X"):
            if text.startswith(key) and key not in at:
                at[key] = cm[4] + tm[4]

    pypdf.PdfReader(io.BytesIO(blob)).pages[0].extract_text(visitor_text=seen)
    assert at["ZL202310000000.X"] - at["登记类型"] > 150  # 32% of 170 mm ≈ 154 pt
