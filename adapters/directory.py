"""The directory of people: who holds which role in which org, and how to reach them.

Escalation outbox rows name their ``audience`` as targets (``{"user": id}`` or
``{"role": r, "org": code}``, see ``workflow.escalation``); :meth:`Directory.resolve` turns them
into people. The directory is maintained by configuration (a YAML file, :func:`load_people`) or
by the API (``put`` / ``remove``). Two implementations: :class:`MemoryDirectory` and
:class:`SqlDirectory` (the ``people`` table of the SQL store).

YAML format::

    people:
      - id: zhang.san
        name: 张三
        roles: [clerk]
        org: "420100"
        contacts: {email: zhangsan@example.org, webhook: https://im.example.org/hook/zs, phone: "13800000000"}
      - {id: li.si, name: 李四, roles: [supervisor], org: "420100", contacts: {email: lisi@example.org}}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import yaml

from workflow.errors import WorkflowError
from workflow.orgs import OrgTree

CONTACT_KINDS = ("email", "webhook", "phone")


@dataclass(frozen=True)
class Person:
    """Someone the office can notify. ``contacts`` maps email / webhook / phone to an address."""

    id: str
    name: str = ""
    roles: frozenset[str] = frozenset()
    org: str = "420000"
    contacts: Mapping[str, str] = field(default_factory=dict)
    active: bool = True

    @property
    def email(self) -> str | None:
        return self.contacts.get("email") or None

    @property
    def webhook(self) -> str | None:
        return self.contacts.get("webhook") or None

    @property
    def phone(self) -> str | None:
        return self.contacts.get("phone") or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "roles": sorted(self.roles), "org": self.org,
            "contacts": dict(self.contacts), "active": self.active,
        }


def person_from_dict(d: Mapping[str, Any], where: str = "person") -> Person:
    """Build a :class:`Person` from a mapping (YAML or JSON), refusing what makes no sense."""
    if not isinstance(d, Mapping):
        raise WorkflowError(f"{where}: a person is a mapping {{id, name, roles, org, contacts}}")
    pid = d.get("id")
    if not isinstance(pid, str) or not pid.strip():
        raise WorkflowError(f"{where}: id is required")
    roles = d.get("roles") or []
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise WorkflowError(f"{where}: roles is a list of role names")
    contacts = d.get("contacts") or {}
    if not isinstance(contacts, Mapping):
        raise WorkflowError(f"{where}: contacts is a mapping {{email, webhook, phone}}")
    unknown = set(contacts) - set(CONTACT_KINDS)
    if unknown:
        raise WorkflowError(f"{where}: unknown contact kinds {', '.join(sorted(map(str, unknown)))}")
    return Person(
        id=pid.strip(),
        name=str(d.get("name") or ""),
        roles=frozenset(roles),
        org=str(d.get("org") or "420000"),
        contacts={k: str(v) for k, v in contacts.items() if v},
        active=bool(d.get("active", True)),
    )


def load_people(path: str | Path) -> list[Person]:
    """Read a people YAML file (``people: [...]`` or a bare list)."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    rows = data.get("people", []) if isinstance(data, Mapping) else data
    if not isinstance(rows, list):
        raise WorkflowError(f"{path}: expected a list of people under 'people'")
    people = [person_from_dict(r, f"{path}: people[{i}]") for i, r in enumerate(rows)]
    ids = [p.id for p in people]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise WorkflowError(f"{path}: duplicate ids {', '.join(dupes)}")
    return people


class Directory(Protocol):
    """Where people are looked up. Implementations: memory, SQL."""

    def get(self, person_id: str) -> Person | None: ...

    def all(self) -> list[Person]: ...

    def with_role(self, role: str, org: str) -> list[Person]:
        """Active people holding ``role`` in exactly ``org``."""
        ...

    def put(self, person: Person) -> None: ...

    def remove(self, person_id: str) -> None: ...


def resolve(
    directory: Directory, audience: Iterable[Mapping[str, Any]], orgs: OrgTree | None = None
) -> list[Person]:
    """People an audience names, each once, in the order named.

    ``{"user": id}`` is that person (if active); ``{"role": r, "org": code}`` the active people
    holding ``r`` in ``code``; when nobody does and ``orgs`` is given, the nearest ancestor org
    that has someone in that role (有呼必应: a call never goes unanswered for want of a holder);
    ``{"person": {id, name, org, contacts}}`` someone outside the directory, as given (an
    applicant, whose contacts came with the application).
    """
    out: dict[str, Person] = {}
    for target in audience:
        found: list[Person] = []
        if "user" in target:
            p = directory.get(str(target["user"]))
            if p is not None and p.active:
                found = [p]
        elif isinstance(target.get("person"), Mapping):
            try:
                found = [person_from_dict(target["person"], "audience person")]
            except WorkflowError:
                found = []
        elif "role" in target:
            role, org = str(target["role"]), str(target.get("org") or "")
            found = directory.with_role(role, org)
            if not found and orgs is not None:
                for up in orgs.ancestors(org):
                    found = directory.with_role(role, up)
                    if found:
                        break
        for p in found:
            out.setdefault(p.id, p)
    return list(out.values())


def sync(directory: Directory, people: Sequence[Person], *, deactivate_missing: bool = False) -> None:
    """Make the directory hold ``people`` (configuration is the source): put each one; with
    ``deactivate_missing``, people no longer listed are kept but marked inactive (history keeps
    their names)."""
    listed = {p.id for p in people}
    for p in people:
        directory.put(p)
    if deactivate_missing:
        for p in directory.all():
            if p.id not in listed and p.active:
                directory.put(replace(p, active=False))


class MemoryDirectory:
    def __init__(self, people: Iterable[Person] = ()) -> None:
        self._lock = threading.Lock()
        self._people: dict[str, Person] = {p.id: p for p in people}

    def get(self, person_id: str) -> Person | None:
        with self._lock:
            return self._people.get(person_id)

    def all(self) -> list[Person]:
        with self._lock:
            return sorted(self._people.values(), key=lambda p: p.id)

    def with_role(self, role: str, org: str) -> list[Person]:
        with self._lock:
            return sorted(
                (p for p in self._people.values() if p.active and p.org == org and role in p.roles),
                key=lambda p: p.id,
            )

    def put(self, person: Person) -> None:
        with self._lock:
            self._people[person.id] = person

    def remove(self, person_id: str) -> None:
        with self._lock:
            self._people.pop(person_id, None)


class SqlDirectory:
    """The ``people`` table of the SQL store (``SqlDirectory(store.engine)``). Writes only the
    directory's columns: a password hash another part keeps there is left alone."""

    def __init__(self, sa_engine: Any, dialect: Any = None) -> None:
        from .sql.tables import PersonRow

        self.engine = sa_engine
        self.table = PersonRow.__table__  # type: ignore[attr-defined]  # SQLModel sets it at class creation
        self._in_uow = dialect.prepare("SELECT id, roles FROM people WHERE org = :org AND active = :active "
                                       "ORDER BY id") if dialect is not None else None

    def with_role_in(self, uow: Any, role: str, org: str) -> list[Any]:
        """``with_role`` read in the caller's unit of work (the sweep's transaction: on SQLite a
        second connection would wait for the write lock that transaction holds)."""
        fetch = getattr(uow, "fetch_all", None)
        if self._in_uow is None or fetch is None:
            return self.with_role(role, org)
        out = []
        for pid, roles in fetch(self._in_uow, {"org": org, "active": True}):
            held = json.loads(roles) if isinstance(roles, str) else roles
            if role in (held or ()):
                out.append(Person(id=pid, roles=frozenset(held), org=org))
        return out

    @staticmethod
    def _person(row: Mapping[str, Any]) -> Person:
        return Person(id=row["id"], name=row["name"] or "", roles=frozenset(row["roles"] or ()),
                      org=row["org"], contacts=dict(row["contacts"] or {}), active=bool(row["active"]))

    def get(self, person_id: str) -> Person | None:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(self.table.c.id == person_id)).mappings().first()
        return self._person(row) if row is not None else None

    def all(self) -> list[Person]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.table).order_by(self.table.c.id)).mappings().all()
        return [self._person(r) for r in rows]

    def with_role(self, role: str, org: str) -> list[Person]:
        import sqlalchemy as sa

        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.org == org, t.c.active.is_(True)).order_by(t.c.id)
            ).mappings().all()
        return [p for p in map(self._person, rows) if role in p.roles]  # roles: a JSON list

    def put(self, person: Person) -> None:
        import sqlalchemy as sa

        t = self.table
        values = {"name": person.name, "roles": sorted(person.roles), "org": person.org,
                  "contacts": dict(person.contacts), "active": person.active}
        with self.engine.begin() as conn:
            done = conn.execute(sa.update(t).where(t.c.id == person.id).values(**values)).rowcount
            if not done:
                conn.execute(sa.insert(t).values(id=person.id, **values))

    def remove(self, person_id: str) -> None:
        import sqlalchemy as sa

        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.table).where(self.table.c.id == person_id))


def directory_for(store: Any) -> Directory:
    """The directory that goes with a store: the ``people`` table on SQL, memory otherwise."""
    eng = getattr(store, "engine", None)
    if eng is not None and hasattr(eng, "dialect"):
        return SqlDirectory(eng, getattr(store, "dialect", None))
    return MemoryDirectory()
