"""Shared helpers for the engine's unit and scenario tests on the fixture definitions of
``tests/fixtures/engine/`` (not the shipped ``definitions/``, which change with the office's items).

Dates are 2024 unless said otherwise; the official calendar facts they rely on:

* 2024-03: no holiday; weekends only (Sat 03-09, Sun 03-10, Sat 03-16, …).
* Qingming: 04-04 .. 04-06 off; Sun 04-07 a workday.
* Labour Day: 05-01 .. 05-05 off; Sun 04-28 and Sat 05-11 workdays.
* 2027 is not in chinesecalendar 1.11: weekends and the statutory holidays by law (元旦 Fri
  01-01, …), provisional, until an override is loaded.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from adapters import build_engine
from workflow import TZ, Actor, Engine

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ENGINE_DEFS = FIXTURES / "engine"
INVALID = FIXTURES / "invalid"

WUHAN = "420100"
YICHANG = "420500"
PROVINCE = "420000"

CLERK = Actor("clerk-wh", {"clerk"}, WUHAN, "武汉窗口")
EXAMINER = Actor("examiner-wh", {"examiner"}, WUHAN, "武汉审查员")
LEADER = Actor("leader-wh", {"leader"}, WUHAN, "武汉局领导")
# what every approved extension carries (行政许可法 第四十二条): the reason and the approver
APPROVED = {"reason": "案情复杂，需进一步核实", "approver": "局长 张明"}
SUPERVISOR = Actor("supervisor-wh", {"supervisor"}, WUHAN, "武汉科长")
YICHANG_CLERK = Actor("clerk-yc", {"clerk", "examiner"}, YICHANG, "宜昌窗口")
PROVINCE_STAFF = Actor("staff-hb", {"clerk", "examiner"}, PROVINCE, "省局")


def at(text: str) -> datetime:
    """``"2024-03-04 10:00"`` as an aware Asia/Shanghai instant."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def make_engine(**kwargs: Any) -> Engine:
    """An in-memory engine on the fixture definitions (each test gets its own)."""
    kwargs.setdefault("definitions", [ENGINE_DEFS])
    return build_engine("memory://", **kwargs)


def snapshot(engine: Engine, case_id: str) -> tuple[Any, Any, Any]:
    """Everything a rejected call must leave untouched: the case, its history, its deadlines."""
    return engine.get_case(case_id), engine.history(case_id), engine.deadlines(case_id)
