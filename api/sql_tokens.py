"""API tokens in the SQL store's ``api_tokens`` table (SQLite or PostgreSQL).

Reads run as single autocommit statements (no write lock is taken to check a token): on a SQLite
file through one connection per thread, kept open; otherwise on a pooled DB-API connection.
Writes are short transactions. Timestamps use the store's own encoding, so ORM
users of ``ApiTokenRow`` read the same values.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from typing import Any

from .auth import TokenInfo

_COLS = "id, token_hash, user_id, {roles}, org, created_at, expires_at, revoked_at, note"


class SqlTokenStore:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.d = store.dialect
        self.pg = self.d.name == "postgresql"
        roles_out = "CAST(roles AS text)" if self.pg else "roles"
        cols = _COLS.format(roles=roles_out)
        sql = {
            "by_hash": f"SELECT {cols} FROM api_tokens WHERE token_hash = :h",
            "all": f"SELECT {cols} FROM api_tokens ORDER BY created_at, id",
            "add": (
                "INSERT INTO api_tokens (id, token_hash, user_id, roles, org, created_at, expires_at, "
                "revoked_at, note) VALUES (:id, :h, :user, {roles_in}, :org, :created, :expires, NULL, :note)"
            ).replace("{roles_in}", "CAST(:roles AS json)" if self.pg else ":roles"),
            "revoke": "UPDATE api_tokens SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL",
        }
        if self.pg:
            import re

            sql = {k: re.sub(r"(?<!:):([a-z_]+)", r"%(\1)s", v) for k, v in sql.items()}
        self.sql = sql
        # SQLite file: each thread reads through a connection of its own, opened once (a token
        # check on every request must not pay for a pool checkout); WAL readers see every commit
        database = store.url.database or ""
        self._file = None if self.pg or database in ("", ":memory:") or "mode=memory" in str(store.url) else database
        self._local = threading.local()
        self._parsed: dict[tuple[Any, ...], TokenInfo] = {}

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._file or "", isolation_level=None, check_same_thread=True)
            conn.execute(f"PRAGMA busy_timeout={int(getattr(self.store, 'busy_timeout_ms', 30_000))}")
            self._local.conn = conn
        return conn

    def _run(self, key: str, params: dict[str, Any], *, write: bool) -> Any:
        if self._file is not None and not write:
            return self._reader().execute(self.sql[key], params).fetchall()
        conn = self.store.engine.raw_connection()
        try:
            cur = conn.cursor()
            try:
                if write and not self.pg:
                    cur.execute("BEGIN IMMEDIATE")
                cur.execute(self.sql[key], params)
                result = cur.rowcount if write else cur.fetchall()
                if self.pg:
                    conn.commit()
                elif write:
                    cur.execute("COMMIT")
                return result
            except BaseException:
                if self.pg:
                    conn.rollback()
                elif write:
                    cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
        finally:
            conn.close()

    def _info(self, row: Any) -> TokenInfo:
        """The row as a :class:`TokenInfo`. Every check reads the row again (a revocation or an
        expiry counts at the next request); only turning the same row into the same frozen
        value is remembered (by the row's whole content, at most 1,024 of them)."""
        key = tuple(row)
        hit = self._parsed.get(key)
        if hit is None:
            if len(self._parsed) >= 1024:
                self._parsed.clear()
            hit = self._parsed[key] = self._parse(key)
        return hit

    def _parse(self, row: tuple[Any, ...]) -> TokenInfo:
        tid, h, user, roles, org, created, expires, revoked, note = row
        parsed = json.loads(roles) if isinstance(roles, str) else (roles or [])
        created_at = self.d.ts_out(created)
        assert created_at is not None
        return TokenInfo(
            id=tid, token_hash=h, user=user, roles=tuple(parsed), org=org, name=note or "",
            created_at=created_at, expires_at=self.d.ts_out(expires), revoked_at=self.d.ts_out(revoked),
        )

    def add_token(self, info: TokenInfo) -> None:
        self._run("add", {
            "id": info.id, "h": info.token_hash, "user": info.user, "roles": json.dumps(list(info.roles)),
            "org": info.org, "created": self.d.ts(info.created_at), "expires": self.d.ts(info.expires_at),
            "note": info.name,
        }, write=True)

    def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        rows = self._run("by_hash", {"h": token_hash}, write=False)
        return self._info(rows[0]) if rows else None

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        return bool(self._run("revoke", {"id": token_id, "at": self.d.ts(at)}, write=True))

    def list_tokens(self) -> list[TokenInfo]:
        return [self._info(r) for r in self._run("all", {}, write=False)]


__all__ = ["SqlTokenStore"]
