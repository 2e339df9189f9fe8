"""Where the applicant's side keeps its rows: applications, the notices sent, and ratings.

Every method takes the engine's unit of work, so rows commit with the step that causes them (an
opening, a transition, a rating): :class:`SqlApplicationStore` runs its statements in the SQL
store's transaction (the ``applications``, ``application_notices`` and ``ratings`` tables,
migration 0004); :class:`MemoryApplicationStore` keeps them in the memory store's tables, which
publish on commit like its cases. ``application_store_for(store)`` picks the one for a store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from workflow.errors import VersionConflict
from workflow.ratings import Rating


@dataclass(frozen=True)
class Applicant:
    """Who applied: an id the portal vouches for (or the one given on the page), a name, and
    how to reach them."""

    id: str
    name: str
    phone: str = ""
    email: str = ""

    def contacts(self) -> dict[str, str]:
        return {k: v for k, v in (("phone", self.phone), ("email", self.email)) if v}


@dataclass(frozen=True)
class Application:
    """A case applied for online (the case's own id is the key)."""

    case_id: str
    number: str
    org: str
    item_id: str
    applicant: Applicant
    code_hash: str
    created_at: datetime
    via: str = ""  # the portal token's user, or "web"


@dataclass(frozen=True)
class Notice:
    """What the applicant was told, and when (kinds: ``workflow.online.NOTICE_KINDS``)."""

    application_id: str
    case_id: str
    kind: str
    title: str
    text: str
    created_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        from workflow.online import NOTICE_KINDS

        return {"kind": self.kind, "kind_label": NOTICE_KINDS.get(self.kind, self.kind), "title": self.title,
                "text": self.text, "at": self.created_at.isoformat(), "data": dict(self.data)}


class AlreadyRated(VersionConflict):
    """The case has its rating (一事一评)."""

    code = "already_rated"


class ApplicationStore(Protocol):
    def add(self, uow: Any, app: Application) -> None: ...

    def get(self, uow: Any, case_id: str) -> Application | None: ...

    def set_code_hash(self, uow: Any, case_id: str, code_hash: str) -> None:
        """A new query code for the application (a replayed application: the old one goes)."""
        ...

    def by_number(self, uow: Any, number: str) -> list[Application]: ...

    def by_applicant(self, uow: Any, applicant_id: str, limit: int = 200) -> list[Application]: ...

    def add_notice(self, uow: Any, notice: Notice) -> None: ...

    def notices(self, uow: Any, application_id: str) -> list[Notice]: ...

    def has_notice(self, uow: Any, application_id: str, case_id: str, kind: str) -> bool: ...

    def add_rating(self, uow: Any, rating: Rating) -> None:
        """Insert the case's rating (AlreadyRated when it has one)."""
        ...

    def update_rating(self, uow: Any, rating: Rating) -> None: ...

    def rating(self, uow: Any, case_id: str) -> Rating | None: ...

    def rating_by_rectification(self, uow: Any, rectification_id: str) -> Rating | None: ...

    def ratings_between(self, uow: Any, start: datetime, end: datetime) -> list[Rating]: ...

    def unrectified(self, uow: Any, limit: int = 100) -> list[Rating]:
        """Bad ratings whose rectification case was not opened (a crash between the two)."""
        ...


# --- memory ------------------------------------------------------------------------------------


class MemoryApplicationStore:
    """Rows in the memory store's tables (``MemoryUnitOfWork.table``)."""

    def add(self, uow: Any, app: Application) -> None:
        uow.table("applications")[app.case_id] = app

    def get(self, uow: Any, case_id: str) -> Application | None:
        return uow.table("applications").get(case_id)

    def set_code_hash(self, uow: Any, case_id: str, code_hash: str) -> None:
        import dataclasses

        table = uow.table("applications")
        if case_id in table:
            table[case_id] = dataclasses.replace(table[case_id], code_hash=code_hash)

    def by_number(self, uow: Any, number: str) -> list[Application]:
        return [a for a in uow.table("applications").values() if a.number == number]

    def by_applicant(self, uow: Any, applicant_id: str, limit: int = 200) -> list[Application]:
        rows = [a for a in uow.table("applications").values() if a.applicant.id == applicant_id]
        return sorted(rows, key=lambda a: (a.created_at, a.case_id), reverse=True)[:limit]

    def add_notice(self, uow: Any, notice: Notice) -> None:
        table = uow.table("application_notices")
        seq = uow.table("application_notice_ids")
        n = seq.get("next", 1)
        seq["next"] = n + 1
        table[notice.application_id] = (*table.get(notice.application_id, ()), replace(notice, id=n))

    def notices(self, uow: Any, application_id: str) -> list[Notice]:
        return list(uow.table("application_notices").get(application_id, ()))

    def has_notice(self, uow: Any, application_id: str, case_id: str, kind: str) -> bool:
        return any(n.case_id == case_id and n.kind == kind for n in self.notices(uow, application_id))

    def add_rating(self, uow: Any, rating: Rating) -> None:
        table = uow.table("ratings")
        if rating.case_id in table:
            raise AlreadyRated(f"case {rating.number} has been rated already")
        table[rating.case_id] = rating

    def update_rating(self, uow: Any, rating: Rating) -> None:
        uow.table("ratings")[rating.case_id] = rating

    def rating(self, uow: Any, case_id: str) -> Rating | None:
        return uow.table("ratings").get(case_id)

    def rating_by_rectification(self, uow: Any, rectification_id: str) -> Rating | None:
        return next((r for r in uow.table("ratings").values() if r.rectification_id == rectification_id), None)

    def ratings_between(self, uow: Any, start: datetime, end: datetime) -> list[Rating]:
        rows = [r for r in uow.table("ratings").values() if start <= r.rated_at < end]
        return sorted(rows, key=lambda r: (r.rated_at, r.case_id))

    def unrectified(self, uow: Any, limit: int = 100) -> list[Rating]:
        return [r for r in uow.table("ratings").values() if r.bad and r.rectification_id is None][:limit]


# --- SQL -----------------------------------------------------------------------------------------

_APP_COLS = ("case_id, number, org, item_id, applicant_id, applicant_name, phone, email, code_hash, via, "
             "created_at")
_NOTICE_COLS = "id, application_id, case_id, kind, title, text, {o_data}, created_at"
_RATING_COLS = ("case_id, number, org, item_id, grade, comment, rated_at, rectification_id, "
                "rectification_number, rectified_at, rectified_on_time, reply")


class SqlApplicationStore:
    """The tables of migration 0004, in the SQL store's transactions."""

    def __init__(self, store: Any) -> None:
        self.store = store
        d = store.dialect
        p = d.prepare
        self.d = d
        self.sql = {
            "add": p(f"INSERT INTO applications ({_APP_COLS}) VALUES (:case_id, :number, :org, :item_id, "
                     ":applicant_id, :applicant_name, :phone, :email, :code_hash, :via, :created_at)"),
            "get": p(f"SELECT {_APP_COLS} FROM applications WHERE case_id = :case_id"),
            "set_code_hash": p("UPDATE applications SET code_hash = :code_hash WHERE case_id = :case_id"),
            "by_number": p(f"SELECT {_APP_COLS} FROM applications WHERE number = :number ORDER BY created_at"),
            "by_applicant": p(f"SELECT {_APP_COLS} FROM applications WHERE applicant_id = :applicant_id "
                              "ORDER BY created_at DESC, case_id DESC LIMIT :limit"),
            "add_notice": p("INSERT INTO application_notices (application_id, case_id, kind, title, text, data, "
                            "created_at) VALUES (:application_id, :case_id, :kind, :title, :text, {data}, "
                            ":created_at)"),
            "notices": p(f"SELECT {_NOTICE_COLS} FROM application_notices WHERE application_id = :application_id "
                         "ORDER BY id"),
            "has_notice": p("SELECT 1 FROM application_notices WHERE application_id = :application_id "
                            "AND case_id = :case_id AND kind = :kind"),
            "add_rating": p(f"INSERT INTO ratings ({_RATING_COLS}) VALUES (:case_id, :number, :org, :item_id, "
                            ":grade, :comment, :rated_at, :rectification_id, :rectification_number, "
                            ":rectified_at, :rectified_on_time, :reply)"),
            "update_rating": p("UPDATE ratings SET rectification_id = :rectification_id, rectification_number = "
                               ":rectification_number, rectified_at = :rectified_at, rectified_on_time = "
                               ":rectified_on_time, reply = :reply WHERE case_id = :case_id"),
            "rating": p(f"SELECT {_RATING_COLS} FROM ratings WHERE case_id = :case_id"),
            "by_rectification": p(f"SELECT {_RATING_COLS} FROM ratings WHERE rectification_id = :rid"),
            "between": p(f"SELECT {_RATING_COLS} FROM ratings WHERE rated_at >= :start AND rated_at < :end "
                         "ORDER BY rated_at, case_id"),
            "unrectified": p(f"SELECT {_RATING_COLS} FROM ratings WHERE grade <= 2 AND rectification_id IS NULL "
                             "ORDER BY rated_at LIMIT :limit"),
        }

    def _app(self, r: Any) -> Application:
        return Application(case_id=r[0], number=r[1], org=r[2], item_id=r[3],
                           applicant=Applicant(id=r[4], name=r[5] or "", phone=r[6] or "", email=r[7] or ""),
                           code_hash=r[8], via=r[9] or "", created_at=self.d.ts_out(r[10]))

    def add(self, uow: Any, app: Application) -> None:
        a = app.applicant
        uow.execute(self.sql["add"], {
            "case_id": app.case_id, "number": app.number, "org": app.org, "item_id": app.item_id,
            "applicant_id": a.id, "applicant_name": a.name, "phone": a.phone, "email": a.email,
            "code_hash": app.code_hash, "via": app.via, "created_at": self.d.ts(app.created_at),
        })

    def get(self, uow: Any, case_id: str) -> Application | None:
        row = uow.fetch_one(self.sql["get"], {"case_id": case_id})
        return self._app(row) if row else None

    def set_code_hash(self, uow: Any, case_id: str, code_hash: str) -> None:
        uow.execute(self.sql["set_code_hash"], {"case_id": case_id, "code_hash": code_hash})

    def by_number(self, uow: Any, number: str) -> list[Application]:
        return [self._app(r) for r in uow.fetch_all(self.sql["by_number"], {"number": number})]

    def by_applicant(self, uow: Any, applicant_id: str, limit: int = 200) -> list[Application]:
        rows = uow.fetch_all(self.sql["by_applicant"], {"applicant_id": applicant_id, "limit": limit})
        return [self._app(r) for r in rows]

    def add_notice(self, uow: Any, notice: Notice) -> None:
        uow.execute(self.sql["add_notice"], {
            "application_id": notice.application_id, "case_id": notice.case_id, "kind": notice.kind,
            "title": notice.title, "text": notice.text,
            "data": json.dumps(dict(notice.data), ensure_ascii=False, default=str),
            "created_at": self.d.ts(notice.created_at),
        })

    def notices(self, uow: Any, application_id: str) -> list[Notice]:
        rows = uow.fetch_all(self.sql["notices"], {"application_id": application_id})
        return [Notice(id=r[0], application_id=r[1], case_id=r[2], kind=r[3], title=r[4] or "", text=r[5] or "",
                       data=json.loads(r[6]) if r[6] else {}, created_at=self.d.ts_out(r[7])) for r in rows]

    def has_notice(self, uow: Any, application_id: str, case_id: str, kind: str) -> bool:
        return uow.fetch_one(self.sql["has_notice"], {
            "application_id": application_id, "case_id": case_id, "kind": kind}) is not None

    def _rating_params(self, r: Rating) -> dict[str, Any]:
        return {
            "case_id": r.case_id, "number": r.number, "org": r.org, "item_id": r.item_id, "grade": r.grade,
            "comment": r.comment, "rated_at": self.d.ts(r.rated_at), "rectification_id": r.rectification_id,
            "rectification_number": r.rectification_number, "rectified_at": self.d.ts(r.rectified_at),
            "rectified_on_time": r.rectified_on_time, "reply": r.reply,
        }

    def _rating(self, r: Any) -> Rating:
        return Rating(case_id=r[0], number=r[1], org=r[2], item_id=r[3], grade=int(r[4]), comment=r[5] or "",
                      rated_at=self.d.ts_out(r[6]), rectification_id=r[7], rectification_number=r[8],
                      rectified_at=self.d.ts_out(r[9]), rectified_on_time=None if r[10] is None else bool(r[10]),
                      reply=r[11] or "")

    def add_rating(self, uow: Any, rating: Rating) -> None:
        if self.rating(uow, rating.case_id) is not None:
            raise AlreadyRated(f"case {rating.number} has been rated already")
        try:
            uow.execute(self.sql["add_rating"], self._rating_params(rating))
        except VersionConflict as exc:  # a concurrent rating of the same case won (primary key)
            raise AlreadyRated(f"case {rating.number} has been rated already") from exc

    def update_rating(self, uow: Any, rating: Rating) -> None:
        uow.execute(self.sql["update_rating"], self._rating_params(rating))

    def rating(self, uow: Any, case_id: str) -> Rating | None:
        row = uow.fetch_one(self.sql["rating"], {"case_id": case_id})
        return self._rating(row) if row else None

    def rating_by_rectification(self, uow: Any, rectification_id: str) -> Rating | None:
        row = uow.fetch_one(self.sql["by_rectification"], {"rid": rectification_id})
        return self._rating(row) if row else None

    def ratings_between(self, uow: Any, start: datetime, end: datetime) -> list[Rating]:
        rows = uow.fetch_all(self.sql["between"], {"start": self.d.ts(start), "end": self.d.ts(end)})
        return [self._rating(r) for r in rows]

    def unrectified(self, uow: Any, limit: int = 100) -> list[Rating]:
        return [self._rating(r) for r in uow.fetch_all(self.sql["unrectified"], {"limit": limit})]


def application_store_for(store: Any) -> ApplicationStore:
    """The application store that goes with an engine's store (SQL or memory)."""
    if hasattr(store, "dialect") and hasattr(store, "url"):
        return SqlApplicationStore(store)
    return MemoryApplicationStore()


__all__ = [
    "AlreadyRated", "Applicant", "Application", "ApplicationStore", "MemoryApplicationStore", "Notice",
    "SqlApplicationStore", "application_store_for",
]
