"""The token store an engine's database offers: the SQL store's ``api_tokens`` table, or memory.

For ``memory://`` engines the token store lives beside the store object, so the app and the
command line in one process (tests, embedding) see the same tokens.
"""

from __future__ import annotations

import weakref
from typing import Any

from workflow.engine import Engine

from .auth import MemoryTokenStore, TokenStore

_memory: weakref.WeakKeyDictionary[Any, MemoryTokenStore] = weakref.WeakKeyDictionary()


def tokens_for(engine: Engine) -> TokenStore:
    store = engine.store
    if hasattr(store, "dialect") and hasattr(getattr(store, "engine", None), "raw_connection"):
        from .sql_tokens import SqlTokenStore

        return SqlTokenStore(store)
    found = _memory.get(store)
    if found is None:
        found = _memory[store] = MemoryTokenStore()
    return found


__all__ = ["tokens_for"]
