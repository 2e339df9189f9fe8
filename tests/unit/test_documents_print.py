"""How documents print and when they can be issued: amounts, hints, column widths, the issuing
authority from the org tree, and the issuance rules (shipped and an office's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import build_engine
from adapters.documents import DocumentRenderer, DocumentSettings, column_widths, money, print_label
from adapters.issuance import DocumentNotIssuable, parse_rules
from workflow import Actor
from workflow.orgs import OrgTree

CLERK = Actor(id="c1", roles={"clerk"}, org="420100")
EXAMINER = Actor(id="e1", roles={"examiner"}, org="420100")
DATA = {"request_type": "registration", "channel": "paper", "pledgor": "甲公司", "pledgee": "乙银行",
        "patent_numbers": "ZL1"}


def test_amounts_print_with_separators_and_the_unit() -> None:
    assert money(5_000_000) == "5,000,000元（500万元）"
    assert money("1234567.5") == "1,234,567.50元（123.45675万元）"  # to the 分, both (was .5元, 123.4568万元)
    assert money(123456789.5) == "123,456,789.50元（12,345.67895万元）"  # QA m9
    assert money("10000.005") == "10,000.01元（1.000001万元）" and money(1.234) == "1.23元"
    assert money(12_800) == "12,800元（1.28万元）"
    assert money(9999) == "9,999元"
    assert money(0.5) == "0.50元"
    assert money("5,000") == "5,000元"
    assert money("面议") == "面议" and money(None) == ""


def test_input_hints_do_not_print() -> None:
    assert print_label("专利号（多件以逗号分隔）") == "专利号"
    assert print_label("合议组成员（三名以上单数）") == "合议组成员"
    assert print_label("涉案专利（申请）号") == "涉案专利（申请）号"  # not a trailing hint
    assert print_label("出质人") == "出质人"
    assert print_label("（备注）") == "（备注）"  # nothing would be left


def test_short_columns_never_wrap_into_one_character() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from adapters.documents import FONT, _fonts

    _fonts()
    page, size = 480.0, 10.5
    head = ["时限", "法定时限", "法定期限届满日", "承诺办结日"]
    row = ["当事人答辩期间", "15日", "2024年10月8日", "2024年9月30日"]
    w = column_widths([head, row], page, size)
    assert abs(sum(w) - page) < 0.01
    for i, text in enumerate(row):  # each cell fits on one line
        assert w[i] >= stringWidth(text, FONT, size) + 12 - 0.01, (i, w)
    # a long reason takes the room; the date beside it keeps its one line
    reason = "申请材料不齐全：质押合同未经双方签章，出质人身份证明已过有效期，专利年费缴纳凭证缺失。" * 2
    w = column_widths([["日期", "理由"], ["2024年10月8日", reason]], page, size)
    assert w[0] >= stringWidth("2024年10月8日", FONT, size) + 12 - 0.01
    assert w[1] > w[0] * 2


def test_the_org_tree_carries_official_names_and_seals() -> None:
    tree = OrgTree()
    assert tree.authority("420000") == "湖北省知识产权局"
    assert tree.authority("420100") == "武汉市知识产权局"
    assert tree.seal("420500") == "宜昌市知识产权局"
    own = OrgTree.from_rows([
        {"code": "420000", "name": "湖北省", "parent": None, "official_name": "湖北省知识产权局"},
        {"code": "420100", "name": "武汉市", "parent": "420000",
         "official_name": "武汉市市场监督管理局（武汉市知识产权局）", "seal": "武汉市市场监督管理局行政许可专用章"},
    ])
    assert own.authority("420100") == "武汉市市场监督管理局（武汉市知识产权局）"
    assert own.seal("420100") == "武汉市市场监督管理局行政许可专用章"
    assert own.seal("420000") == "湖北省知识产权局" and own.name("420100") == "武汉市"


def test_a_case_is_issued_by_its_org_with_the_office_tree() -> None:
    tree = OrgTree({"420000": ("湖北省", None, "湖北省知识产权局", ""),
                    "420100": ("武汉市", "420000", "武汉市市场监督管理局", "武汉市市场监督管理局印章")})
    engine = build_engine("memory://", orgs=tree)
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=DATA)
    r = DocumentRenderer(orgs=tree)
    page = r.html("receipt", case, engine.definition(case.item_id), events=engine.history(case.id))
    assert "武汉市市场监督管理局" in page and "湖北省知识产权局" not in page
    assert "武汉市市场监督管理局印章" in page


def test_shipped_rules_and_refusals_in_the_library() -> None:
    engine = build_engine("memory://")
    r = DocumentRenderer()
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=DATA)
    d = engine.definition(case.item_id)
    assert [x.name for x in r.available(case, d, engine.history(case.id))] == ["receipt"]
    verdict = r.issuable("decision", case, d, engine.history(case.id))
    assert not verdict.ok and "决定书只能在办理" in verdict.reason
    with pytest.raises(DocumentNotIssuable) as exc:
        r.html("decision", case, d, events=engine.history(case.id), check=True)
    assert exc.value.code == "document_not_issuable" and exc.value.document == "decision"
    # without ``check`` the library still renders a specimen (a template being written)
    assert "决定书" in r.html("decision", case, d, events=engine.history(case.id))
    # an item that takes no decision never offers one
    mediation = engine.definition("judicial_confirmation")
    verdict = r._rule("decision")
    from adapters.issuance import check

    assert check(verdict, case, mediation, []).reason == "本事项不出具决定书"


def test_an_office_declares_its_own_documents(tmp_path: Path) -> None:
    (tmp_path / "hearing_notice.html.j2").write_text("<p>{{ item_name }}口头审理通知</p>", encoding="utf-8")
    (tmp_path / "documents.yaml").write_text(
        "hearing_notice: {title: 口头审理通知书, states: [under_review]}\n"
        "decision: {title: 决定书, states: [final]}\n", encoding="utf-8")
    engine = build_engine("memory://")
    r = DocumentRenderer(DocumentSettings(template_dir=tmp_path))
    case = engine.open_case("patent_pledge_registration", actor=CLERK, data=DATA)
    d = engine.definition(case.item_id)
    assert "hearing_notice" not in [x.name for x in r.available(case, d, engine.history(case.id))]
    case = engine.fire(case.id, "accept", actor=CLERK)
    got = [x.name for x in r.available(case, d, engine.history(case.id))]
    assert "hearing_notice" in got and "decision" not in got and "acceptance_notice" in got
    assert r.title("hearing_notice") == "口头审理通知书"
    case = engine.fire(case.id, "withdraw", actor=CLERK)
    got = [x.name for x in r.available(case, d, engine.history(case.id))]
    assert "decision" in got and "hearing_notice" not in got  # the office's rule replaced the shipped one


@pytest.mark.parametrize("text, where", [
    ("decision: [approve]", "decision: a mapping"),
    ("decision: {after: approve, when: x}", "unknown key(s) when"),
    ("decision: {after: [1]}", "decision.after: a list of names"),
    ("decision: {items: [x]}", "decision.items"),
    ("- a", "a mapping of document name"),
    ("a: {after: [", "not valid YAML"),
])
def test_a_mistaken_rules_file_names_the_file_and_key(text: str, where: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_rules(text, "/office/documents.yaml")
    assert "/office/documents.yaml" in str(exc.value) and where in str(exc.value)
