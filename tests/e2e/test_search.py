"""``GET /api/cases?q=`` over real HTTP (issue 16): a case beyond the 500th, a closed one, a
company's name, part of a number, combined filters, cursor pages to the end, and another city's
case never found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from workflow import Actor

from .conftest import PLEDGE, Stack, pledge_data, problem

WUHAN = Actor("seed.clerk", {"clerk"}, org="420100")
YICHANG = Actor("seed.yc", {"clerk"}, org="420500")


def search(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following ``next`` to the end."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = client.get("/api/cases", params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        assert len(body["items"]) <= params.get("limit", 10_000)
        cursor = body["next"]
        if cursor is None:
            return out


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [c["number"] for c in items]


def test_search_finds_any_case(timed: Stack) -> None:
    engine, clock = timed.engine, timed.clock
    clock.at = engine.now() - timedelta(days=30)
    opened = []
    for i in range(540):  # more than the 500 cases the old page read
        clock.at += timedelta(minutes=1)
        opened.append(engine.open_case(PLEDGE, actor=WUHAN, data=pledge_data(
            pledgor=f"武汉第{i:03d}精密机械有限公司", pledgee=("招商银行武汉分行" if i % 2 else "汉口银行"))))
    clock.at += timedelta(minutes=1)
    late = engine.open_case(PLEDGE, actor=WUHAN, data=pledge_data(pledgor="武汉光谷量子通信技术有限公司"))
    closed = opened[7]
    engine.fire(closed.id, "withdraw", actor=WUHAN)
    clock.at += timedelta(minutes=1)
    yichang = engine.open_case(PLEDGE, actor=YICHANG, data=pledge_data(pledgor="武汉光谷量子通信技术有限公司"))
    clock.at = None
    wuhan = timed.wuhan_clerk

    # the 541st case, by its number, by part of it, by the company's name and its first characters
    assert numbers(search(wuhan, q=late.number)) == [late.number]
    assert numbers(search(wuhan, q=late.number[-9:])) == [late.number]          # "2026-00541"
    assert numbers(search(wuhan, q="光谷量子通信")) == [late.number]
    assert numbers(search(wuhan, q="武汉光谷")) == [late.number]
    serial = late.number[-5:]
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in serial)              # ０００５４１ as typed in a CJK IME
    assert numbers(search(wuhan, q=full_width)) == [late.number]
    # a closed case is found without switching any filter; open= narrows
    assert numbers(search(wuhan, q="武汉第007精密")) == [closed.number]
    assert search(wuhan, q="武汉第007精密", open="true") == []
    assert numbers(search(wuhan, q="武汉第007精密", open="false")) == [closed.number]
    # combined filters
    both = search(wuhan, q="精密机械", state="received", item=PLEDGE, limit=100)
    assert len(both) == 539 and closed.number not in numbers(both)
    assert numbers(search(wuhan, q="武汉第5", org="420100", open="true")) == [c.number for c in opened[500:540]]
    # every page to the end, in opening order, none twice
    banks = search(wuhan, q="招商银行", limit=37)
    assert numbers(banks) == [c.number for c in opened[1::2]] + [late.number]
    # another city's case is never found, whatever the query
    assert yichang.number not in numbers(search(wuhan, q="光谷量子通信"))
    assert search(wuhan, q=yichang.number) == []
    assert search(wuhan, q="光谷量子", org="420500") == []
    assert numbers(search(timed.yichang_clerk, q="光谷量子")) == [yichang.number]
    assert numbers(search(timed.province_leader, q="光谷量子")) == [late.number, yichang.number]
    # bad input is a clear 4xx
    problem(wuhan.get("/api/cases", params={"q": "x" * 101}), 400)
    problem(wuhan.get("/api/cases", params={"q": "a\x00b"}), 400)
