from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters import build_engine
from workflow import Actor
from workflow.legaltime import TZ

PLEDGE = Path(__file__).resolve().parents[1] / "fixtures" / "pledge.yaml"


class Clock:
    """The injected clock: tests move it; nothing sleeps."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: Any) -> None:
        self.at = self.at + timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 3, 4, 9, 30, 15, 123456, tzinfo=TZ))  # Monday


@pytest.fixture
def engine(store_url: str, clock: Clock) -> Iterator[Any]:
    eng = build_engine(store_url, definitions=[PLEDGE], now=clock)
    yield eng
    dispose = getattr(eng.store, "dispose", None)
    if dispose:
        dispose()


@pytest.fixture
def store(engine: Any) -> Any:
    return engine.store


CLERK = Actor("clerk1", {"clerk"}, org="420100")
EXAMINER = Actor("exam1", {"examiner"}, org="420100")
BOSS = Actor("boss", {"clerk", "examiner", "leader", "supervisor"}, org="420000")
