"""政务服务"好差评": the applicant's rating of a finished matter. PURE.

国办发〔2019〕51号 opens every finished matter to a rating by its applicant; GB/T 39735-2020
gives the five grades. caseclock takes one rating per matter (一事一评), once the case is
closed. A grade of 1 or 2 (不满意, 非常不满意: a 差评) opens a ``rating_rectification`` case in the
rated case's org (verify, contact the applicant 回访, rectify, reply), whose reply reaches the
applicant.

Measures (monthly report and charts, per org and item of the rated case, by the month of the
rating): ``ratings`` 评价数; ``satisfied_rate`` 满意率 — the share of grades 3–5 (非常满意, 满意,
基本满意: every rating that is not a 差评); ``bad_ratings`` 差评数; ``bad_rectified_on_time`` 差评
按时整改数 — bad ratings whose rectification case closed within its limit (as of the report).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GRADES: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD = frozenset({1, 2})
RECTIFICATION_ITEM = "rating_rectification"
MAX_COMMENT = 500  # characters


def grade_label(grade: int) -> str:
    return GRADES.get(grade, str(grade))


def is_bad(grade: int) -> bool:
    """差评: 不满意 or 非常不满意."""
    return grade in BAD


@dataclass(frozen=True)
class Rating:
    """One applicant's rating of one closed case (what the store keeps)."""

    case_id: str
    number: str
    org: str
    item_id: str
    grade: int
    rated_at: datetime
    comment: str = ""
    rectification_id: str | None = None  # the rating_rectification case (差评 only)
    rectification_number: str | None = None
    rectified_at: datetime | None = None  # when it closed with its reply
    rectified_on_time: bool | None = None  # within the rectification's limit
    reply: str = ""  # what the office told the applicant

    @property
    def bad(self) -> bool:
        return is_bad(self.grade)

    @property
    def label(self) -> str:
        return grade_label(self.grade)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "number": self.number, "org": self.org, "item_id": self.item_id,
            "grade": self.grade, "grade_label": self.label, "comment": self.comment,
            "rated_at": self.rated_at.isoformat(), "bad": self.bad,
            "rectification_id": self.rectification_id, "rectification_number": self.rectification_number,
            "rectified_at": self.rectified_at.isoformat() if self.rectified_at else None,
            "rectified_on_time": self.rectified_on_time, "reply": self.reply,
        }


@dataclass
class RatingTally:
    ratings: int = 0
    satisfied: int = 0
    bad: int = 0
    bad_rectified_on_time: int = 0
    by_grade: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))

    def add_rating(self, r: Rating) -> None:
        self.ratings += 1
        self.by_grade[r.grade] = self.by_grade.get(r.grade, 0) + 1
        if r.bad:
            self.bad += 1
            if r.rectified_on_time:
                self.bad_rectified_on_time += 1
        else:
            self.satisfied += 1

    def add(self, o: RatingTally) -> None:
        self.ratings += o.ratings
        self.satisfied += o.satisfied
        self.bad += o.bad
        self.bad_rectified_on_time += o.bad_rectified_on_time
        for g, n in o.by_grade.items():
            self.by_grade[g] = self.by_grade.get(g, 0) + n

    @property
    def satisfied_rate(self) -> float | None:
        return round(self.satisfied / self.ratings, 4) if self.ratings else None

    def measures(self) -> dict[str, Any]:
        return {
            "ratings": self.ratings,
            "satisfied_rate": self.satisfied_rate,
            "bad_ratings": self.bad,
            "bad_rectified_on_time": self.bad_rectified_on_time,
        }


def tally(ratings: Iterable[Rating], key: Any = None) -> dict[Any, RatingTally]:
    """Ratings counted by ``key(rating)`` (default: (org, item_id))."""
    key = key or (lambda r: (r.org, r.item_id))
    out: dict[Any, RatingTally] = {}
    for r in ratings:
        out.setdefault(key(r), RatingTally()).add_rating(r)
    return out


def parse_grade(value: Any) -> int:
    """A grade 1–5 from JSON or a form (ValueError otherwise; booleans and fractions refused)."""
    if isinstance(value, bool):
        raise ValueError("grade is a whole number from 1 to 5")
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    if not isinstance(value, int) or value not in GRADES:
        raise ValueError("grade is a whole number from 1 (非常不满意) to 5 (非常满意)")
    return value


def rating_from_dict(d: Mapping[str, Any]) -> Rating:
    def when(v: Any) -> datetime | None:
        return datetime.fromisoformat(v) if isinstance(v, str) and v else v if isinstance(v, datetime) else None

    rated = when(d["rated_at"])
    assert rated is not None
    return Rating(
        case_id=d["case_id"], number=d["number"], org=d["org"], item_id=d["item_id"], grade=int(d["grade"]),
        rated_at=rated, comment=d.get("comment") or "", rectification_id=d.get("rectification_id"),
        rectification_number=d.get("rectification_number"), rectified_at=when(d.get("rectified_at")),
        rectified_on_time=d.get("rectified_on_time"), reply=d.get("reply") or "",
    )


__all__ = [
    "BAD", "GRADES", "MAX_COMMENT", "RECTIFICATION_ITEM", "Rating", "RatingTally", "grade_label", "is_bad",
    "parse_grade", "rating_from_dict", "tally",
]
