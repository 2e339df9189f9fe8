"""The kept JSON encoders (issue 20) write exactly what ``json.dumps`` with the same arguments
wrote: an event's hash is byte-identical to the one stored before, so old chains still verify."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from adapters.sql.dialect import _dumps
from api.deps import dumps as response_bytes
from workflow.engine_base import _fingerprint, _jsonable
from workflow.legaltime import TZ
from workflow.model import HASH_JSON, Event

VALUES = [
    {},
    [],
    "纯文本",
    {"申请人": "甲公司", "z": [1, 2.5, None, True, False], "a": {"y": 1e16, "x": "\u2028\x00é\"\\"}},
    {"b": {"d": 1, "c": [{"f": 2, "e": 3}]}, "a": -0.0, "n": float("nan"), "i": float("inf")},
    {"day": date(2024, 10, 8), "amount": Decimal("12.30"), "set": {1}, "big": 10**40},
    ("tuple", 1, {"k": (2, 3)}),
]


@pytest.mark.parametrize("value", VALUES)
def test_kept_encoders_write_what_json_dumps_wrote(value: object) -> None:
    assert HASH_JSON.encode(value) == json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    assert _dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    assert response_bytes(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def test_jsonable_and_fingerprint_unchanged() -> None:
    data = {"b": 1, "a": {"日期": date(2024, 1, 2)}, "d": Decimal("1.5")}
    assert _jsonable(data) == json.loads(json.dumps(data, ensure_ascii=False, default=str))
    parts = ("fire", "c1", "accept", data, "u1", None)
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    assert _fingerprint(*parts) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_event_hash_is_the_one_stored_before() -> None:
    """A known answer, computed by the code before the kept encoder (commit 05b5a9a)."""
    ev = Event(case_id="c1", seq=3, kind="transition", trigger="accept", actor_id="张三",
               at=datetime(2024, 9, 30, 17, 5, 1, 123456, tzinfo=TZ), from_state="received",
               to_state="examining",
               data={"申请人": "甲公司", "z": [1, 2.5, None, True], "a": {"y": 1e16, "x": "\u2028\x00é"},
                     "day": date(2024, 10, 8), "amount": Decimal("12.30"),
                     "_before": {"state": "received", "data": {}}},
               prev_hash="ab" * 32)
    assert ev.compute_hash() == "a30de42075ee25fd84d7a6089b487cd5acf4285e1004d5e505515213a7f11045"
