"""Receipts and documents: rendered from templates with the dates the engine computed."""

from __future__ import annotations

import io
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from adapters import build_engine
from adapters.documents import DocumentRenderer, DocumentSettings, TemplateNotFound, cn_date
from workflow import Actor

FIX = Path(__file__).resolve().parents[1] / "fixtures"
CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
PLEDGE = {
    "request_type": "registration", "channel": "paper", "pledgor": "武汉甲科技有限公司",
    "pledgee": "招商银行武汉分行", "patent_numbers": "ZL202010000001.1", "secured_amount": 5_000_000,
}


class Fields(HTMLParser):
    """Collects every element with ``data-field`` (its text and ``datetime``), per ``data-clock``."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, list[dict[str, str]]] = {}
        self.stack: list[tuple[str, dict[str, str], list[str]]] = []
        self.clock: list[str | None] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag in ("br", "meta"):
            return
        self.clock.append(a.get("data-clock", self.clock[-1] if self.clock else None))
        self.stack.append((tag, a, []))

    def handle_endtag(self, tag):
        while self.stack:
            t, a, buf = self.stack.pop()
            clock = self.clock.pop()
            text = "".join(buf).strip()
            if self.stack:
                self.stack[-1][2].append("".join(buf))
            if "data-field" in a:
                self.fields.setdefault(a["data-field"], []).append(
                    {"text": text, "datetime": a.get("datetime", ""), "clock": clock or ""})
            if t == tag:
                return

    def handle_data(self, data):
        self.text.append(data)
        if self.stack:
            self.stack[-1][2].append(data)


def parse(page: str) -> Fields:
    p = Fields()
    p.feed(page)
    p.close()
    return p


def pdf_text(blob: bytes) -> str:
    assert blob.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(blob)).pages)


@pytest.fixture
def engine():
    return build_engine("memory://")


@pytest.fixture
def renderer(engine):
    return DocumentRenderer(
        DocumentSettings(query_url="https://zwfw.example.cn/progress?no={number}", query_phone="027-87654321"),
        org_name=engine.orgs.name,
    )


def _render(engine, renderer, case, name="receipt", fmt="html"):
    d = engine.definition(case.item_id, case.definition_version)
    ev = engine.history(case.id)
    return renderer.pdf(name, case, d, events=ev) if fmt == "pdf" else renderer.html(name, case, d, events=ev)


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_receipt_shows_number_item_received_data_and_the_engines_dates(engine, renderer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    h = case.clocks["handling"]
    # the worked example of the design: 5 working days from Fri 2024-09-27 over the National Day
    assert (h.statutory_due, h.commitment_due) == (date(2024, 10, 10), date(2024, 10, 8))
    page = parse(_render(engine, renderer, case))
    f = page.fields
    assert f["number"][0]["text"] == case.number
    assert f["item_name"][0]["text"] == "专利权质押登记"
    assert f["started_on"][0]["datetime"] == "2024-09-27"
    assert f["received.pledgor"][0]["text"] == "武汉甲科技有限公司"
    assert f["received.channel"][0]["text"] == "纸件提交"  # a choice, as it reads on paper
    statutory = [x for x in f["statutory_due"] if x["clock"] == "handling"]
    committed = [x for x in f["commitment_due"] if x["clock"] == "handling"]
    assert statutory[0]["datetime"] == "2024-10-10" and statutory[0]["text"].startswith("2024年10月10日")
    assert committed[0]["datetime"] == "2024-10-08" and committed[0]["text"] == "2024年10月8日"
    assert case.number in f["query"][0]["text"]
    assert f["query_url"][0]["text"] == f"https://zwfw.example.cn/progress?no={case.number}"
    assert "武汉市" in f["org_name"][0]["text"]


@pytest.mark.freeze_time("2024-09-27 10:00:00+08:00")
def test_receipt_pdf_carries_the_same_text(engine, renderer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    text = pdf_text(_render(engine, renderer, case, fmt="pdf"))
    assert "专利权质押登记受理回执" in text
    assert case.number in text
    assert "2024年10月10日" in text and "2024年10月8日" in text  # statutory, committed
    assert "武汉甲科技有限公司" in text
    assert "打印" not in text  # the screen-only print button is not on paper


@pytest.mark.freeze_time("2024-03-11 10:00:00+08:00")
def test_back_dated_receipt_counts_from_the_legal_start(engine, renderer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE,
                            started_on=date(2024, 3, 4), reason="邮寄申请，3月4日收件")
    f = parse(_render(engine, renderer, case)).fields
    assert f["started_on"][0]["datetime"] == "2024-03-04"
    assert [x["datetime"] for x in f["statutory_due"]] == [case.clocks["handling"].statutory_due.isoformat()]
    assert case.clocks["handling"].statutory_due == date(2024, 3, 11)


@pytest.mark.freeze_time("2024-03-04 10:00:00+08:00")
def test_supplement_notice_and_decision_use_the_case_data_and_dates(engine, renderer, freezer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    engine.fire(case.id, "accept", actor=CLERK)
    freezer.move_to("2024-03-05 15:00:00+08:00")
    case = engine.fire(case.id, "request_supplement", actor=EXAMINER, data={
        "supplement_items": "质押合同原件一份；出质人身份证明。", "supplement_deadline": "2024-03-20"})
    f = parse(_render(engine, renderer, case, "supplement_notice")).fields
    assert f["supplement_items"][0]["text"] == "质押合同原件一份；出质人身份证明。"
    assert f["supplement_deadline"][0]["datetime"] == "2024-03-20"
    assert f["issued_on"][0]["datetime"] == "2024-03-05"
    assert f["party"][0]["text"] == "武汉甲科技有限公司"
    assert "2024年3月20日" in pdf_text(_render(engine, renderer, case, "supplement_notice", "pdf"))

    freezer.move_to("2024-03-07 09:00:00+08:00")
    engine.fire(case.id, "resubmit", actor=CLERK)
    case = engine.fire(case.id, "approve", actor=EXAMINER, data={"registration_number": "Y2024420000123"})
    f = parse(_render(engine, renderer, case, "decision")).fields
    assert f["decision"][0]["text"] == "准予质押登记"
    assert f["registration_number"][0]["text"] == "Y2024420000123"
    assert f["issued_on"][0]["datetime"] == "2024-03-07"
    h = case.clocks["handling"]
    assert f["statutory_due"][0]["datetime"] == h.statutory_due.isoformat()
    assert f["commitment_due"][0]["datetime"] == h.commitment_due.isoformat()
    assert f["stopped_on"][0]["datetime"] == "2024-03-07"


@pytest.mark.freeze_time("2026-12-08 10:00:00+08:00")
def test_documents_print_the_data_given_after_opening(engine, renderer, freezer):
    """QA of issue 16, D2: a pledge received blank and completed at 受理 prints its parties, patent
    numbers and channel on the receipt and the decision, and the online limit's dates (D1)."""
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data={})
    f = parse(_render(engine, renderer, case)).fields
    assert "received.pledgor" not in f and f["received.request_type"][0]["text"] == "设立登记"
    freezer.move_to("2026-12-08 15:00:00+08:00")
    given = {k: PLEDGE[k] for k in ("pledgor", "pledgee", "patent_numbers", "secured_amount")}
    case = engine.fire(case.id, "accept", actor=CLERK, data={**given, "channel": "online"})
    freezer.move_to("2026-12-09 10:00:00+08:00")
    case = engine.fire(case.id, "approve", actor=EXAMINER, data={"registration_number": "Y2026420000999"})
    for name in ("receipt", "decision"):
        f = parse(_render(engine, renderer, case, name)).fields
        printed = {k: f[f"received.{k}"][0]["text"] for k in ("pledgor", "pledgee", "patent_numbers", "channel")}
        assert printed == {"pledgor": "武汉甲科技有限公司", "pledgee": "招商银行武汉分行",
                           "patent_numbers": "ZL202010000001.1", "channel": "网上提交"}, name
        assert f["received.secured_amount"][0]["text"] == "5,000,000元（500万元）"
    assert f["statutory_due"][0]["datetime"] == "2026-12-10"  # 2 working days from receipt, not 5


@pytest.mark.freeze_time("2024-09-20 10:00:00+08:00")
def test_acceptance_notice_of_a_dispute_shows_each_running_office_clock(engine, renderer):
    case = engine.open_case("patent_infringement_adjudication", actor=CLERK, data={
        "requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    page = parse(_render(engine, renderer, case, "acceptance_notice"))
    running = {n: c for n, c in case.clocks.items() if c.status == "running" and not c.party and not c.external}
    assert running, "the filing clock runs from receipt"
    for name, c in running.items():
        got = {x["datetime"] for x in page.fields["statutory_due"] if x["clock"] == name}
        assert got == {c.statutory_due.isoformat()}
        got = {x["datetime"] for x in page.fields["commitment_due"] if x["clock"] == name}
        assert got == {c.commitment_due.isoformat()}
    assert page.fields["party"][0]["text"] == "甲公司"


@pytest.mark.freeze_time("2024-09-20 10:00:00+08:00")
def test_acceptance_notice_promises_only_what_still_counts(engine, renderer):
    """After filing, the 立案期限 has stopped and 已立案待送达 is a state's own step limit: the
    notice promises neither, only the office's limits still counting (the 办案期限)."""
    case = engine.open_case("patent_infringement_adjudication", actor=CLERK, data={
        "requester": "甲公司", "respondent": "乙公司", "respondent_domicile": "domestic",
        "patent_number": "ZL201910000001.X", "patent_type": "invention", "claims": "停止侵权"})
    case = engine.fire(case.id, "file_case", actor=EXAMINER, data={"panel": "张三、李四、王五"})
    defn = engine.definition(case.item_id)
    page = parse(_render(engine, renderer, case, "acceptance_notice"))
    promised = {x["clock"] for x in page.fields["commitment_due"]}
    stopped = {n for n, c in case.clocks.items() if c.status == "stopped"}
    steps = {n for n, c in case.clocks.items() if defn.clocks[n].step and c.status == "running"}
    assert stopped and steps, (stopped, steps)  # what the old notice promised too
    counting = {n for n, c in case.clocks.items() if c.status in ("running", "paused") and not c.party
                and not c.external and c.kind not in ("notice", "special") and not defn.clocks[n].step}
    assert promised == counting and counting and not promised & (stopped | steps)


@pytest.mark.freeze_time("2024-09-20 10:00:00+08:00")
def test_acceptance_notice_reprinted_after_the_decision_still_states_its_limit(engine, renderer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    case = engine.fire(case.id, "accept", actor=CLERK)
    before = parse(_render(engine, renderer, case, "acceptance_notice")).fields["statutory_due"]
    case = engine.fire(case.id, "approve", actor=EXAMINER, data={"registration_number": "Y1"})
    assert case.clocks["handling"].status == "stopped"
    after = parse(_render(engine, renderer, case, "acceptance_notice")).fields["statutory_due"]
    assert after == before and [x["clock"] for x in after] == ["handling"]


def test_the_office_overrides_a_template_and_adds_its_own(tmp_path, engine):
    (tmp_path / "receipt.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block content %}<h1>本局回执</h1>'
        '<p data-field="n">{{ number }}</p><p data-field="due">{{ main.statutory_due|cn_date }}</p>'
        '{% endblock %}', encoding="utf-8")
    (tmp_path / "hearing_notice.html.j2").write_text("<p>{{ item_name }}口头审理通知</p>", encoding="utf-8")
    r = DocumentRenderer(DocumentSettings(template_dir=tmp_path))
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    d = engine.definition(case.item_id)
    f = parse(r.html("receipt", case, d)).fields
    assert f["n"][0]["text"] == case.number
    assert f["due"][0]["text"] == cn_date(case.clocks["handling"].statutory_due)
    assert "hearing_notice" in r.templates() and "decision" in r.templates()
    assert "口头审理通知" in r.html("hearing_notice", case, d)
    for bad in ("../etc/passwd", "_layout", "nope", "Receipt"):
        with pytest.raises(TemplateNotFound):
            r.html(bad, case, d)


def test_templates_run_sandboxed_and_escape_data(tmp_path, engine):
    (tmp_path / "evil.html.j2").write_text("{{ case.__class__.__mro__ }}", encoding="utf-8")
    r = DocumentRenderer(DocumentSettings(template_dir=tmp_path))
    case = engine.open_case("patent_pledge_registration", actor=CLERK,
                            data={**PLEDGE, "pledgor": "<script>alert(1)</script>"})
    d = engine.definition(case.item_id)
    assert "<script>alert" not in r.html("receipt", case, d)
    assert "mro" not in r.html("evil", case, d) and "object" not in r.html("evil", case, d)


@pytest.mark.freeze_time("2026-12-28 10:00:00+08:00")
def test_receipt_marks_each_provisional_date(engine, renderer):
    # 5 wd from Mon 2026-12-28: 12-29, 12-30, 12-31, then 2027 by law (元旦 Fri 01-01 off):
    # Mon 01-04, Tue 01-05 -> statutory 2027-01-05, provisional; commitment 3 wd: 2026-12-31, certain
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    h = case.clocks["handling"]
    assert (h.statutory_due, h.commitment_due) == (date(2027, 1, 5), date(2026, 12, 31))
    html = _render(engine, renderer, case)
    assert '2027年1月5日</time><span data-provisional="statutory">（暂定）</span>' in html
    assert '2026年12月31日</time><span data-provisional="commitment">' not in html
    text = pdf_text(_render(engine, renderer, case, fmt="pdf"))
    assert "2027年1月5日（暂定）" in text.replace(" ", "")
    notice = _render(engine, renderer, case, name="acceptance_notice")
    assert '2027年1月5日</time><span data-provisional="statutory">（暂定）</span>' in notice


def test_acceptance_notice_calls_itself_a_notice(engine, renderer):
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=PLEDGE)
    case = engine.fire(case.id, "accept", actor=CLERK)
    query = parse(_render(engine, renderer, case, "acceptance_notice")).fields["query"][0]["text"]
    assert query.startswith("凭本通知书所载案件编号") and "本回执" not in query
