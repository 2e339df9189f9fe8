"""案件查询 (/web/cases) without a browser: the store's search, pages of 50 to the last, closed
cases found, the filters kept from page to page, another city's cases never shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.unit.test_web_pages import DATA, PLEDGE, actor, env, signed_in  # noqa: F401  (env: a fixture)


def numbers(html: str) -> list[str]:
    return re.findall(r'<a href="/web/cases/[0-9a-f]+">([A-Z]+-\d+-\d+-\d+)</a>', html)


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_search_pages_through_every_match(env: Any) -> None:  # noqa: F811
    engine, app, clock = env
    clock.at = engine.now() - timedelta(days=10)
    made = []
    for i in range(120):
        clock.at += timedelta(minutes=1)
        made.append(engine.open_case(PLEDGE, actor=actor("clerk"), data={**DATA, "pledgor": f"武汉第{i:03d}号光电有限公司"}))
    engine.fire(made[3].id, "withdraw", actor=actor("clerk"))
    clock.at += timedelta(minutes=1)
    yc = engine.open_case(PLEDGE, actor=actor("yc"), data={**DATA, "pledgor": "武汉第999号光电有限公司"})
    clock.at = None
    c = signed_in(app, "clerk")

    page = c.get("/web/cases", params={"q": "号光电"}).text
    assert 'id="q"' in page and 'value="号光电"' in page
    seen, url, pages = numbers(page), next_link(page), 1
    assert len(seen) == 50 and "第 1 页，本页 50 件" in page and "回到第一页" not in page
    while url:
        page = c.get(url).text
        pages += 1
        assert f"第 {pages} 页" in page and "回到第一页" in page and 'value="号光电"' in page
        seen += numbers(page)
        url = next_link(page)
    assert pages == 3 and "已到最后一页" in page
    assert seen == [m.number for m in made]  # every one, once, in opening order; the closed one too
    assert yc.number not in seen

    # by number, by its end, one found beyond the 100th; a closed one only when asked for
    assert numbers(c.get("/web/cases", params={"q": made[110].number}).text) == [made[110].number]
    assert numbers(c.get("/web/cases", params={"q": made[110].number[-5:]}).text) == [made[110].number]
    assert numbers(c.get("/web/cases", params={"number": made[110].number}).text) == [made[110].number]
    assert numbers(c.get("/web/cases", params={"q": "第003号", "state": "open"}).text) == []
    assert numbers(c.get("/web/cases", params={"q": "第003号", "state": "closed"}).text) == [made[3].number]
    # filters travel with the next page
    page = c.get("/web/cases", params={"q": "光电有限", "state": "open", "item": PLEDGE}).text
    link = next_link(page)
    assert link is not None and "state=open" in link and "item=" in link and "q=" in link
    # another city: never, whatever is asked
    for params in ({"q": yc.number}, {"q": "第999号"}, {"q": "武汉", "org": "420500"}):
        page = c.get("/web/cases", params=params).text
        assert numbers(page) == [] and "没有案件" in page and "武汉第999号光电" not in page
    # nonsense in the page parameters is ignored, never a failure
    for params in ({"after": "x\x00y"}, {"after": "../../etc"}, {"p": "abc", "after": made[0].id}, {"q": "\x00"}):
        assert c.get("/web/cases", params=params).status_code == 200


def test_a_query_too_long_is_refused_in_words_and_punctuation_alone_filters_nothing(env: Any) -> None:  # noqa: F811
    """QA m2: a query over 100 characters was cut to 100 and searched (the API answers 400); now
    the page says it is too long and searches nothing. QA m1: only punctuation — %, _, * alike —
    filters nothing, on the page as in the API."""
    engine, app, clock = env
    made = [engine.open_case(PLEDGE, actor=actor("clerk"), data=DATA) for _ in range(3)]
    c = signed_in(app, "clerk")
    long = "武汉" * 50 + "甲"  # 101 characters; its first 100 would match nothing either
    r = c.get("/web/cases", params={"q": long})
    assert r.status_code == 400
    assert "查询内容过长：最多 100 个字符，现有 101 个" in r.text and 'aria-invalid="true"' in r.text
    assert numbers(r.text) == [] and "的查询结果" not in r.text
    r = c.get("/web/cases", params={"q": made[0].number + " " * 200})  # spaces around are not the query
    assert r.status_code == 200 and numbers(r.text) == [made[0].number]
    everyone = sorted(m.number for m in made)
    for q in ("%%%", "___", "*", '"', "_%_"):
        assert sorted(numbers(c.get("/web/cases", params={"q": q}).text)) == everyone, q
