"""Who may sign in to the pages: the people of the directory, with a password hash each.

On a SQL store both live in the ``people`` table (its ``password_hash`` column); on ``memory://``
in a directory and a dict kept beside the store object (so the app and the code that fills it in
one process see the same people). ``python -m api.web passwd USER`` sets a password.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

from adapters.directory import MemoryDirectory, Person
from workflow.engine import Engine

from .security import hash_password


class Accounts(Protocol):
    def get(self, person_id: str) -> Person | None: ...

    def all(self) -> list[Person]: ...

    def put(self, person: Person) -> None: ...

    def password_hash(self, person_id: str) -> str | None: ...

    def set_password_hash(self, person_id: str, value: str | None) -> None: ...


def set_password(accounts: Accounts, person_id: str, password: str) -> None:
    """Hash and store a password (the person must be in the directory)."""
    if accounts.get(person_id) is None:
        raise KeyError(f"no person {person_id!r} in the directory")
    accounts.set_password_hash(person_id, hash_password(password))


def add_person(accounts: Accounts, person: Person, password: str | None = None) -> None:
    accounts.put(person)
    if password is not None:
        set_password(accounts, person.id, password)


class _DirectoryPeople:
    """The people themselves come from a directory (``adapters.directory``); the accounts add
    their password hashes."""

    directory: Any

    def get(self, person_id: str) -> Person | None:
        return self.directory.get(person_id)

    def all(self) -> list[Person]:
        return self.directory.all()

    def put(self, person: Person) -> None:
        self.directory.put(person)


class MemoryAccounts(_DirectoryPeople):
    def __init__(self, people: Iterable[Person] = ()) -> None:
        self.directory = MemoryDirectory(people)
        self._hashes: dict[str, str] = {}
        self._lock = threading.Lock()

    def password_hash(self, person_id: str) -> str | None:
        with self._lock:
            return self._hashes.get(person_id)

    def set_password_hash(self, person_id: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._hashes.pop(person_id, None)
            else:
                self._hashes[person_id] = value


class SqlAccounts(_DirectoryPeople):
    """The ``people`` table of the SQL store: the directory's columns through
    :class:`adapters.directory.SqlDirectory`, and its ``password_hash`` column."""

    def __init__(self, store: Any) -> None:
        import sqlalchemy as sa

        from adapters.directory import SqlDirectory

        self.sa = sa
        self.engine = store.engine
        self.directory = SqlDirectory(store.engine)

    def password_hash(self, person_id: str) -> str | None:
        with self.engine.connect() as c:
            row = c.execute(self.sa.text("SELECT password_hash FROM people WHERE id = :id"),
                            {"id": person_id}).first()
        return row[0] if row else None

    def set_password_hash(self, person_id: str, value: str | None) -> None:
        with self.engine.begin() as c:
            c.execute(self.sa.text("UPDATE people SET password_hash = :h WHERE id = :id"),
                      {"h": value, "id": person_id})


class SqlSignouts:
    """Web sessions signed out, in the ``web_signouts`` table: every process refuses them. Rows
    go once their session would have expired anyway."""

    def __init__(self, store: Any) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.engine = store.engine

    def add(self, sid: str, expires: int) -> None:
        now = int(time.time())
        with self.engine.begin() as c:
            c.execute(self.sa.text("DELETE FROM web_signouts WHERE expires_at <= :now"), {"now": now})
            c.execute(self.sa.text("INSERT INTO web_signouts (sid, expires_at) VALUES (:sid, :e) "
                                   "ON CONFLICT (sid) DO NOTHING"), {"sid": sid, "e": int(expires)})

    def has(self, sid: str) -> bool:
        with self.engine.connect() as c:
            row = c.execute(self.sa.text("SELECT 1 FROM web_signouts WHERE sid = :sid"), {"sid": sid}).first()
        return row is not None


def _sql_store(engine: Engine) -> Any:
    """The engine's SQL store, or None (the memory store)."""
    store = engine.store
    return store if hasattr(store, "dialect") and hasattr(getattr(store, "engine", None), "connect") else None


def signouts_for(engine: Engine) -> SqlSignouts | None:
    """Shared sign-outs on a SQL store; None (this process only) on the memory store."""
    store = _sql_store(engine)
    return SqlSignouts(store) if store is not None else None


_memory: weakref.WeakKeyDictionary[Any, MemoryAccounts] = weakref.WeakKeyDictionary()


def accounts_for(engine: Engine) -> Accounts:
    """The accounts of the engine's database."""
    sql = _sql_store(engine)
    if sql is not None:
        return SqlAccounts(sql)
    store = engine.store
    found = _memory.get(store)
    if found is None:
        found = _memory[store] = MemoryAccounts()
    return found


__all__ = [
    "Accounts", "MemoryAccounts", "SqlAccounts", "SqlSignouts", "accounts_for", "add_person", "set_password",
    "signouts_for",
]
