"""Case search (issue 16) through the public Engine, on every store: the number, whole or in part,
and the names of the fields the definitions mark searchable; open and closed cases; the other
filters; cursor pages to the end; the caller's orgs only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters import build_engine
from adapters.sql import search as sql_search
from tests.contract.conftest import Clock
from workflow import Actor
from workflow.ports import CaseQuery
from workflow.search import Needle, names_text, needle, normalize

PLEDGE = "patent_pledge_registration"
ADJUDICATION = "patent_infringement_adjudication"
WUHAN = Actor("wh.clerk", {"clerk", "examiner"}, org="420100")
YICHANG = Actor("yc.clerk", {"clerk", "examiner"}, org="420500")
PROVINCE = Actor("hb.leader", {"leader", "supervisor", "clerk"}, org="420000")
BOSS = Actor("boss", {"clerk", "examiner", "leader", "supervisor", "admin"}, org="420000")


@pytest.fixture
def eng(store_url: str, clock: Clock) -> Iterator[Any]:
    def ticking() -> Any:  # each reading a millisecond later: cases open in the order written
        clock.advance(milliseconds=1)
        return clock()

    engine = build_engine(store_url, now=ticking)  # the shipped definitions: their marked fields
    yield engine
    dispose = getattr(engine.store, "dispose", None)
    if dispose:
        dispose()


def pledge(eng: Any, actor: Actor, pledgor: str, pledgee: str = "招商银行武汉分行", **kw: Any) -> Any:
    return eng.open_case(PLEDGE, actor=actor, data={"pledgor": pledgor, "pledgee": pledgee}, **kw)


def adjudication(eng: Any, actor: Actor, requester: str, respondent: str) -> Any:
    return eng.open_case(ADJUDICATION, actor=actor, data={
        "requester": requester, "respondent": respondent, "respondent_domicile": "domestic",
        "patent_number": "ZL202010000001.5", "patent_type": "invention", "claims": "停止侵权"})


def numbers(cases: list[Any]) -> list[str]:
    return [c.number for c in cases]


def every_page(eng: Any, actor: Actor, size: int, **filters: Any) -> list[Any]:
    out: list[Any] = []
    after = None
    while True:
        page = eng.list_cases(actor, after=after, limit=size, **filters)
        out += page
        if len(page) < size:
            return out
        after = page[-1].id


def test_the_rule():
    assert normalize("ＺＹＤＪ-420100 2026（武汉）") == "zydj4201002026武汉"
    assert needle("华为") == Needle("华为", short=True) == needle(" 华 为 ")
    assert needle("华为").in_names == "\n华为" and needle("光谷智能").in_names == "光谷智能"
    assert needle("  ") is None and needle("——") is None and needle(None) is None
    text = names_text({"a": "甲公司、乙公司", "b": ["丙公司"], "c": "不搜"}, ["a", "b"])
    assert text == "\n甲公司\n乙公司\n丙公司"


def test_names_numbers_and_the_short_rule(eng):
    a = pledge(eng, WUHAN, "武汉光谷智能装备有限公司")
    b = pledge(eng, WUHAN, "华为技术有限公司", "中国银行湖北省分行")
    c = pledge(eng, WUHAN, "中华为民科技有限公司", "汉口银行")
    d = adjudication(eng, WUHAN, "Acme Robotics Ltd.", "光谷（武汉）电子厂")

    def find(q: str, **kw: Any) -> list[str]:
        return numbers(eng.list_cases(WUHAN, q=q, **kw))

    assert find("光谷智能") == [a.number]                       # part of a name
    assert find("武汉光谷") == [a.number]                       # a name's first characters
    assert find("华为") == [b.number]                           # short: the beginning only
    assert find("华为民") == [c.number]                         # three: anywhere
    assert find("中") == [b.number, c.number]                   # one character: names beginning with it
    assert find("招商银行") == [a.number]
    assert find(a.number) == [a.number]                         # the whole number
    assert find(a.number.lower().replace("-", " ")) == [a.number]
    assert find(a.number[-5:]) == [a.number, d.number]          # its serial (d's is the same)
    assert find(b.number[-8:]) == [b.number]
    assert find(a.number[:11]) == [a.number, b.number, c.number]  # its beginning, ZYDJ-420100: the pledges
    # in part: from the start of an inner segment on (420100-2024, then 2024-0000: the year and
    # the serial's first digits), on every store through an index (case_number_parts)
    assert find(a.number[5:16]) == [a.number, b.number, c.number, d.number]
    assert find(a.number[5:16].replace("-", "")) == [a.number, b.number, c.number, d.number]
    assert find(b.number[12:21]) == [a.number, b.number, c.number, d.number]  # 2024-0000
    assert find(a.number[7:16]) == []                           # 0100-2024: begins inside a segment
    assert find("acme robotics") == [d.number]                  # case and spaces do not matter
    assert find("光谷(武汉)") == [d.number]                     # half-width for full-width brackets
    assert find("光谷") == [d.number]                           # short: not 武汉光谷…
    assert find("不存在的公司") == []
    assert find("patent_numbers") == []                        # field names are not searched
    assert find("  ") == numbers(eng.list_cases(WUHAN))        # nothing to search by: no filter


def test_unmarked_fields_are_not_searched(eng):
    case = eng.open_case(PLEDGE, actor=WUHAN, data={"pledgor": "甲公司", "pledgee": "乙银行",
                                                     "patent_numbers": "ZL202310000001.X"})
    assert eng.list_cases(WUHAN, q="ZL2023100") == []
    assert numbers(eng.list_cases(WUHAN, q="甲公司")) == [case.number]


def test_closed_cases_org_scope_and_filters(eng):
    open_one = pledge(eng, WUHAN, "武汉绿能新材料有限公司")
    closed = pledge(eng, WUHAN, "武汉绿能新材料有限公司")
    eng.fire(closed.id, "withdraw", actor=WUHAN)
    other_item = adjudication(eng, WUHAN, "武汉绿能新材料有限公司", "某厂")
    yichang = pledge(eng, YICHANG, "武汉绿能新材料有限公司")  # the same company at another city
    q = "绿能新材料"
    assert numbers(eng.list_cases(WUHAN, q=q)) == [open_one.number, closed.number, other_item.number]
    assert numbers(eng.list_cases(WUHAN, q=q, open=True)) == [open_one.number, other_item.number]
    assert numbers(eng.list_cases(WUHAN, q=q, open=False)) == [closed.number]
    assert numbers(eng.list_cases(WUHAN, q=q, item_id=PLEDGE)) == [open_one.number, closed.number]
    assert numbers(eng.list_cases(WUHAN, q=q, item_id=PLEDGE, state="received")) == [open_one.number]
    assert numbers(eng.list_cases(YICHANG, q=q)) == [yichang.number]           # never Wuhan's
    assert eng.list_cases(YICHANG, q=open_one.number) == []
    assert numbers(eng.list_cases(PROVINCE, q=q)) == [open_one.number, closed.number, other_item.number,
                                                      yichang.number]
    assert numbers(eng.list_cases(PROVINCE, q=q, org="420500")) == [yichang.number]
    assert numbers(eng.list_cases(WUHAN, q=q, order="urgent", open=True)) == numbers(
        [c for c in eng.list_cases(WUHAN, order="urgent", open=True) if c.id in {open_one.id, other_item.id}])


def test_names_given_later_and_transfers_are_followed(eng):
    case = eng.open_case(PLEDGE, actor=WUHAN)  # a blank form: found by its number only
    assert eng.list_cases(WUHAN, q="长江存储") == []
    eng.fire(case.id, "accept", actor=WUHAN, data={"pledgor": "长江存储科技有限责任公司", "pledgee": "国家开发银行",
                                                   "patent_numbers": "ZL1", "channel": "online"})
    assert numbers(eng.list_cases(WUHAN, q="长江存储")) == [case.number]
    eng.fire(case.id, "request_supplement", actor=WUHAN,
             data={"supplement_items": "补正", "pledgor": "长江存储科技控股有限责任公司"})
    assert numbers(eng.list_cases(WUHAN, q="存储科技控股")) == [case.number]
    assert eng.list_cases(WUHAN, q="存储科技有限") == []        # the old name is gone
    eng.transfer(case.id, "420500", actor=BOSS, reason="管辖")
    assert eng.list_cases(WUHAN, q="长江存储") == []
    assert numbers(eng.list_cases(YICHANG, q="长江存储")) == [case.number]


def test_pages_by_cursor_to_the_end(eng, clock):
    made = []
    for i in range(23):
        clock.advance(minutes=1)
        made.append(pledge(eng, WUHAN, f"武汉市第{i:02d}号科技有限公司"))
        if i % 5 == 0:
            eng.fire(made[-1].id, "withdraw", actor=WUHAN)
        pledge(eng, YICHANG, f"武汉市第{i:02d}号科技有限公司")  # never in Wuhan's pages
    got = every_page(eng, WUHAN, 4, q="武汉市第")
    assert numbers(got) == numbers(made)
    assert numbers(every_page(eng, WUHAN, 5, q="号科技", open=False)) == numbers(made[::5])
    assert numbers(every_page(eng, WUHAN, 1000, q="武汉市第1")) == numbers(made[10:20])


@pytest.fixture
def few_candidates(monkeypatch):
    """Make the SQL stores take their walk in page order (many matches) after 2 candidates, and
    their first look at a common query's page read only 3 rows (of each org walked)."""
    monkeypatch.setattr(sql_search, "CANDIDATES", 2)
    monkeypatch.setattr(sql_search, "WINDOW", 3)


@pytest.mark.parametrize("cap", ["default", "walk", "walk every org's rows"])
def test_both_ways_of_the_sql_query_agree(eng, clock, cap, request, monkeypatch):
    """The candidates from the indexes, the walk of each org's rows (a scope of a few orgs) and
    the walk of every org's rows (a wide scope) give the same pages."""
    if cap != "default":
        request.getfixturevalue("few_candidates")
    if cap == "walk every org's rows":
        monkeypatch.setattr(sql_search, "PER_ORG", 0)
    made = []
    for i in range(12):
        clock.advance(minutes=1)
        made.append(pledge(eng, WUHAN if i % 3 else YICHANG, f"湖北长飞光纤第{i}分公司", "建设银行"))
    eng.fire(made[1].id, "withdraw", actor=WUHAN)
    wuhan = [c for i, c in enumerate(made) if i % 3]
    assert numbers(every_page(eng, WUHAN, 3, q="长飞光纤")) == numbers(wuhan)
    assert numbers(every_page(eng, WUHAN, 2, q="长飞光纤", open=True)) == numbers(wuhan[1:])
    assert numbers(every_page(eng, PROVINCE, 5, q="建设")) == numbers(made)      # short: a beginning
    assert numbers(every_page(eng, PROVINCE, 5, q="建")) == numbers(made)
    assert numbers(every_page(eng, PROVINCE, 5, q="长飞光纤第1")) == numbers([made[1], made[10], made[11]])
    # a number's part that begins many numbers (an org and its year: ZYDJ-420100-2026-…), and one
    # that begins none in the caller's org
    org_year = "-".join(wuhan[0].number.split("-")[1:3])
    assert numbers(every_page(eng, WUHAN, 3, q=org_year)) == numbers(wuhan)
    assert numbers(every_page(eng, WUHAN, 2, q=org_year, open=False)) == [made[1].number]
    assert numbers(every_page(eng, PROVINCE, 4, q=org_year)) == numbers(wuhan)
    yichang_year = "-".join(made[0].number.split("-")[1:3])
    assert every_page(eng, WUHAN, 3, q=yichang_year) == []
    assert numbers(every_page(eng, WUHAN, 2, q=made[5].number)) == [made[5].number]
    # two orgs in scope (a province's office with two cities): each walked, the pages merged
    both = frozenset({WUHAN.org, YICHANG.org})
    assert [r.number for r in store_pages(eng, both, 3, "长飞光纤")] == numbers(made)
    assert [r.number for r in store_pages(eng, both, 2, org_year)] == numbers(wuhan)
    assert [r.number for r in store_pages(eng, both, 5, "长飞光纤第1", open=False)] == [made[1].number]


def store_pages(eng: Any, orgs: frozenset[str], size: int, q: str, **filters: Any) -> list[Any]:
    """Every page of a search in these orgs, asked of the store itself."""
    out: list[Any] = []
    after = None
    while True:
        with eng.store.unit_of_work() as uow:
            page = uow.query_cases(CaseQuery(orgs=orgs, q=q, after=after, limit=size, **filters))
        out += page
        if len(page) < size:
            return out
        after = page[-1].id


def test_short_queries_every_org_filter_and_page(eng, clock):
    """One or two characters: a beginning of the number or of a name, on every store the same —
    SQL from ``case_heads`` a range per org in page order, the orgs' pages merged."""
    made = []
    for i in range(14):
        clock.advance(minutes=1)
        who = (WUHAN, YICHANG)[i % 2]
        made.append(pledge(eng, who, f"{'宜昌' if i % 3 == 0 else '武汉'}第{i}纺织厂", "王" if i % 4 == 0 else "招商银行"))
    eng.fire(made[2].id, "withdraw", actor=WUHAN)
    other = adjudication(eng, WUHAN, "武汉某电子厂", "乙方")
    wuhan_names = [c for i, c in enumerate(made) if i % 3]
    assert numbers(every_page(eng, PROVINCE, 3, q="武汉")) == numbers([*wuhan_names, other])
    assert numbers(every_page(eng, PROVINCE, 3, q="武")) == numbers([*wuhan_names, other])
    assert numbers(every_page(eng, WUHAN, 2, q="武汉")) == numbers([c for c in [*wuhan_names, other]
                                                                     if c.org == WUHAN.org])
    assert numbers(every_page(eng, WUHAN, 2, q="武汉", open=True)) == numbers(
        [c for c in [*wuhan_names, other] if c.org == WUHAN.org and c.id != made[2].id])
    assert numbers(every_page(eng, WUHAN, 2, q="武汉", open=False)) == [made[2].number]
    assert numbers(every_page(eng, PROVINCE, 4, q="武汉", item_id=PLEDGE)) == numbers(wuhan_names)
    assert numbers(every_page(eng, PROVINCE, 4, q="武汉", org="420500")) == numbers(
        [c for c in wuhan_names if c.org == "420500"])
    assert numbers(every_page(eng, PROVINCE, 2, q="王")) == numbers(made[::4])      # a one-character name
    assert eng.list_cases(PROVINCE, q="王伟") == [] and eng.list_cases(PROVINCE, q="汉") == []
    assert numbers(every_page(eng, PROVINCE, 5, q="宜昌")) == numbers(made[::3])
    beginning = made[0].number[:2]                                                   # ZY: the pledges' numbers
    assert numbers(every_page(eng, PROVINCE, 5, q=beginning.lower())) == numbers(made)
    assert numbers(eng.list_cases(PROVINCE, q=made[0].number[:1], limit=3)) == numbers(made[:3])
    # a transfer and a renamed party move the case's beginnings with it
    eng.transfer(made[0].id, "420500", actor=BOSS, reason="管辖")
    assert numbers(every_page(eng, YICHANG, 2, q="宜昌")) == numbers([c for c in made[::3]
                                                                      if c.org == YICHANG.org or c is made[0]])
    assert made[0].number not in numbers(every_page(eng, WUHAN, 2, q="宜昌"))
    late = eng.open_case(PLEDGE, actor=WUHAN)                                        # a blank form
    assert late.number not in numbers(every_page(eng, WUHAN, 50, q="荆州"))
    eng.fire(late.id, "accept", actor=WUHAN, data={"pledgor": "荆州某厂", "pledgee": "国家开发银行",
                                                   "patent_numbers": "ZL1", "channel": "online"})
    assert numbers(eng.list_cases(WUHAN, q="荆州")) == [late.number]
    eng.fire(late.id, "request_supplement", actor=WUHAN, data={"supplement_items": "补正", "pledgor": "黄石某厂"})
    assert eng.list_cases(WUHAN, q="荆州") == []
    assert numbers(eng.list_cases(WUHAN, q="黄石")) == [late.number]
    assert numbers(eng.list_cases(WUHAN, q="国家")) == [late.number]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_walk_leaves_out_a_test_no_case_can_pass(dialect):
    """A name finds no number: when no number begins or ends with the query and no part begins
    with it (the indexes' counts), the walk tests the names alone — no look-up of the parts a row."""
    found = needle("长飞光纤")
    assert found is not None
    every = sql_search.row_test(dialect, found, {})
    assert "case_number_parts" in every and every.count(" OR ") == 3
    names = sql_search.row_test(dialect, found, {}, counts={"number": 0, "rnumber": 0, "part": 0})
    assert "case_number_parts" not in names and " OR " not in names and "names" in names
    parts = sql_search.row_test(dialect, found, {}, counts={"number": 0, "rnumber": 0, "part": 7})
    assert "case_number_parts" in parts and parts.count(" OR ") == 1
