"""Finding a case by what a caller says: its number, or a party's or applicant's name.

One rule, used by every store (the SQL stores index it, the memory store applies it directly).
Query, number and names are first *normalized*: NFKC (full-width letters, digits and brackets
become their ASCII forms), case folded, and only letters, digits and combining marks kept —
spaces, punctuation and symbols go, so ``ZYDJ 420100-2026`` is ``zydj4201002026`` and
``光谷（武汉）`` is ``光谷武汉``. Then a query of three characters or more matches a case when

- the case's number begins or ends with it (``ZYDJ-420100``, ``2026-00017``, ``00017``), or one
  of its *parts* begins with it: the number from the start of an inner segment on
  (``420100-2026`` and ``2026-0001`` find ``ZYDJ-420100-2026-00017``; see :func:`number_parts`), or
- one of the names in the fields its definition marks ``searchable`` contains it, anywhere
  (``光谷智能`` finds 武汉光谷智能装备有限公司);

and a query of one or two characters when the number or one of those names *begins* with it
(``华为`` finds 华为技术有限公司, not 中华为民公司). A value that lists several names
(``甲公司、乙公司``, a JSON list) gives one name each.

The SQL stores keep, per case, the normalized number (indexed for its beginning and, reversed,
its end), its parts (``case_number_parts``, indexed for their beginnings), the *names text*: each normalized name preceded by ``SEPARATOR``, indexed by
trigrams — so a short query's beginning-of-a-name test is the substring ``SEPARATOR`` + query —
and the *heads* (``case_heads``, :func:`heads`): the first one and two characters of the number
and of each name, which answer a short query by equality in page order.
Nothing here touches a database (``adapters/sql/search.py`` keeps the index).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

SEPARATOR = "\n"  # never survives normalizing: no query contains it
MAX_QUERY = 100  # characters of a query
SHORT = 3  # queries shorter than this (normalized) match the beginning of a number or name
_LIST_SPLIT = re.compile(r"[、，,;；/／\n\r]+")
_KEEP = ("L", "N", "M")  # letters, numbers, marks


def normalize(text: str) -> str:
    """The form query, numbers and names take (see the module's docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in _KEEP)


class Needle(NamedTuple):
    """A normalized query: ``text``; ``short`` (one or two characters): beginnings only."""

    text: str
    short: bool

    @property
    def in_names(self) -> str:
        """What the names text must contain."""
        return SEPARATOR + self.text if self.short else self.text


def needle(query: str | None) -> Needle | None:
    """The query as it is matched; None when nothing of it is left to search by (empty, or only
    spaces and punctuation): no search filter then."""
    if query is None:
        return None
    q = normalize(query[: MAX_QUERY * 2])[:MAX_QUERY]
    if not q:
        return None
    return Needle(q, len(q) < SHORT)


_SEGMENT = re.compile(r"[^\W_]+")  # a number's segments: runs of letters and digits


def number_parts(number: str) -> tuple[str, ...]:
    """The normalized number from the start of each inner segment on: ``ZYDJ-420100-2026-00017``
    gives ``420100202600017`` and ``202600017``. The first segment is the whole number (its
    beginning is matched already) and the last one its end (matched as the end): neither is a
    part. Segments are what the number pattern separates (``-``, ``/``, brackets, spaces …)."""
    text = unicodedata.normalize("NFKC", number)
    starts = [m.start() for m in _SEGMENT.finditer(text)]
    parts: list[str] = []
    for start in starts[1:-1]:
        part = normalize(text[start:])
        if part and part not in parts:
            parts.append(part)
    return tuple(parts)


def _names(value: Any) -> Iterable[str]:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _names(v)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _names(v)
    else:
        yield from _LIST_SPLIT.split(str(value))


def names_text(data: Mapping[str, Any], fields: Iterable[str]) -> str:
    """``SEPARATOR`` before each normalized name of the ``fields`` the data has (each once)."""
    parts: list[str] = []
    for raw in (n for f in fields for n in _names(data.get(f))):
        part = normalize(raw)
        if part and part not in parts:
            parts.append(part)
    return "".join(SEPARATOR + p for p in parts)


def heads(number: str, names: str) -> tuple[str, ...]:
    """What a short query (one or two characters) is compared with, for equality: the first
    character and the first two of the normalized ``number`` and of each name in the ``names``
    text (each once). ``q in heads(...)`` is :func:`matches` for a short ``q``."""
    out: list[str] = []
    for text in (number, *names.split(SEPARATOR)):
        for n in range(1, SHORT):
            head = text[:n]
            if head and head not in out:
                out.append(head)
    return tuple(out)


def matches(number: str, names: str, found: Needle | None, parts: Iterable[str] = ()) -> bool:
    """Whether a case with this normalized ``number``, number ``parts`` and ``names`` text
    matches (None: no search, everything matches)."""
    if found is None:
        return True
    q = found.text
    if number.startswith(q) or found.in_names in names:
        return True
    return not found.short and (number.endswith(q) or any(p.startswith(q) for p in parts))


def case_matches(number: str, data: Mapping[str, Any], fields: Iterable[str], found: Needle | None) -> bool:
    return matches(normalize(number), names_text(data, fields), found, number_parts(number))


def searchable_fields(definitions: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """item id → the data fields its definitions mark ``searchable`` (every loaded version's, in
    the order they first appear): a case of any version is found by all of them."""
    out: dict[str, list[str]] = {}
    for d in definitions:
        names = out.setdefault(d.id, [])
        for f in d.searchable_fields:
            if f not in names:
                names.append(f)
    return {k: tuple(v) for k, v in out.items()}


def searchable_in_raw(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``searchable`` fields of a definition as its YAML mapping (migrations read stored and
    shipped files without loading them)."""
    found: list[str] = []
    lists = [body.get("fields")]
    for t in body.get("transitions") or []:
        if isinstance(t, Mapping):
            lists.append(t.get("fields"))
    for fields in lists:
        for f in fields or []:
            if isinstance(f, Mapping) and f.get("searchable") is True and isinstance(f.get("name"), str):
                if f["name"] not in found:
                    found.append(f["name"])
    return tuple(found)


__all__ = ["MAX_QUERY", "SEPARATOR", "SHORT", "Needle", "case_matches", "heads", "matches", "names_text", "needle",
           "normalize", "number_parts", "searchable_fields", "searchable_in_raw"]
