"""The case search index (``case_search``) and the search query (``GET /api/cases?q=``).

What matches is ``workflow/search.py``'s rule: the query begins or ends the normalized number,
or is found in one of the names (one or two characters: begins one). One ``case_search`` row a
case holds its org, item, opening instant, normalized number, reversed number and names text.

Kept in step: ``SqlUnitOfWork.add_case`` inserts the row (deferred, like the history's appends);
``save_case`` writes it again only when the names or the org changed (the data is compared as
this unit of work read it), in the same transaction.

Indexed: the number's beginning and end by B-trees (``number``, ``rnumber``: a range each); the
names by trigrams: SQLite an FTS5 table (``case_search_fts``, trigram tokenizer, ``detail=none``,
kept by triggers), PostgreSQL a ``pg_trgm`` GIN index (when the extension is there: migration
0007 installs it if the database lets it, and the store logs a warning without it). The names
hold no number: a number's digits, the same few thousand trigrams in every row, would make
every lookup read most of the index.

A query is answered in page order (``opened_at, id``, keyset after the cursor):

0. *One or two characters* (a beginning): ``case_heads`` holds the first one and two characters
   of each case's number and names (``workflow.search.heads``) keyed ``(org, head, opened_at,
   case_id)``: for each org in scope the page is a range of it read in page order
   with a LIMIT (joined to the case for the other filters), the orgs' pages merged — however
   many cases begin with it, no sort of all the matches.

Three or more characters: first the query's beginnings are counted in the number indexes
(``_probe``: a range of each index alone, to at most ``CANDIDATES + 1``); a number test no case
can pass is left out of the row tests. Then:

1. *A first look* when the query may match many (a short text with no digit, or more than
   ``CANDIDATES`` in a number index): the page among the next ``WINDOW`` rows in page order.
2. *Few matches*: the number ranges and the trigram index give the matching cases in the
   caller's orgs (and item) after the cursor, at most ``CANDIDATES`` of each; the page is read
   from those (a sort of at most that many).
3. *Many matches* (more than ``CANDIDATES`` from one of them): walk the rows in page order
   testing each; with at least ``CANDIDATES`` matches among N cases a page of 50 is found within
   about ``50 × N / CANDIDATES`` rows.

The walks of 1 and 3 read each org's own rows (``ix_case_search_org_opened``) for a scope of at
most ``PER_ORG`` orgs, the orgs' pages merged; a wider or no scope reads every row in page order
(``ix_case_search_opened``), the orgs a filter.

docs/store.md#case-search gives the measurements behind this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from workflow.ports import CaseQuery
from workflow.search import (
    Needle,
    heads,
    names_text,
    needle,
    normalize,
    number_parts,
    searchable_fields,
)

from .dialect import _CASE_COLS, _Dialect

log = logging.getLogger("caseclock.search")

CANDIDATES = 5000  # at most this many matches are sorted; beyond, the walk in page order
BATCH = 5000  # cases a rebuild reads and writes at a time
COLUMNS = ("case_id", "org", "item_id", "opened_at", "number", "rnumber", "names")

# SQLite: the FTS5 table over case_search.names and the triggers that keep it (migration 0007)
FTS_DDL = (
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(names, content='case_search', content_rowid='id', "
    "tokenize='trigram case_sensitive 1', detail=none)",
    "CREATE TRIGGER case_search_fts_ai AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts (rowid, names) VALUES (new.id, new.names); END",
    "CREATE TRIGGER case_search_fts_ad AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts (case_search_fts, rowid, names) VALUES ('delete', old.id, old.names); END",
    "CREATE TRIGGER case_search_fts_au AFTER UPDATE OF names ON case_search BEGIN "
    "INSERT INTO case_search_fts (case_search_fts, rowid, names) VALUES ('delete', old.id, old.names); "
    "INSERT INTO case_search_fts (rowid, names) VALUES (new.id, new.names); END",
)
FTS_TRIGGERS = 1  # FTS_DDL[1:] are the triggers
FTS_DROP = (
    "DROP TRIGGER IF EXISTS case_search_fts_au", "DROP TRIGGER IF EXISTS case_search_fts_ad",
    "DROP TRIGGER IF EXISTS case_search_fts_ai", "DROP TABLE IF EXISTS case_search_fts",
)


def trgm_schema(cur: Any) -> str | None:
    """PostgreSQL: the schema pg_trgm is installed in (None: not installed)."""
    cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'")
    row = cur.fetchone()
    return row[0] if row else None


def trgm_index_ddl(schema: str) -> str:
    quoted = '"' + schema.replace('"', '""') + '"'
    return f"CREATE INDEX ix_case_search_trgm ON case_search USING gin (names {quoted}.gin_trgm_ops)"


# -- the rows --------------------------------------------------------------------------------------


class Terms:
    """item id → searchable fields, and a case's search row (``SqlStore.search``)."""

    def __init__(self, fields: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.fields: dict[str, tuple[str, ...]] = dict(fields or {})

    def names(self, item_id: str, data: Mapping[str, Any]) -> str:
        return names_text(data, self.fields.get(item_id, ()))

    def row(self, params: Mapping[str, Any], data: Mapping[str, Any], names: str | None = None) -> dict[str, Any]:
        """The ``case_search`` row of a case as the store writes it (``_case_params``); ``names``:
        its names text where the caller has it already."""
        number = normalize(params["number"])
        return {"case_id": params["id"], "org": params["org"], "item_id": params["item_id"],
                "opened_at": params["opened_at"], "number": number, "rnumber": number[::-1],
                "names": self.names(params["item_id"], data) if names is None else names}


# positions in a case row as the store reads and writes it (dialect.CASE_FIELDS)
_NUMBER, _ITEM, _ORG, _DATA, _OPENED = 1, 2, 6, 8, 10


def changed(terms: Terms, old: tuple[Any, ...] | None, params: Mapping[str, Any],
            data: Mapping[str, Any]) -> tuple[tuple[Any, ...] | None, dict[str, Any]] | None:
    """When ``save_case`` changes what the case is found by (its searchable names or its org):
    the case's search row as it stands — (org, item_id, opened_at, number, names), as
    ``heads_changed`` takes it; None when this unit of work has not read the case — and as it
    becomes (``Terms.row``); else None. ``old``: the row as this unit of work read (or wrote) it."""
    new = terms.names(params["item_id"], data)
    if old is None:
        return None, terms.row(params, data, new)
    same_data = old[_DATA] == params["data"]
    if same_data and old[_ORG] == params["org"]:
        return None
    was = new if same_data and old[_ITEM] == params["item_id"] else terms.names(old[_ITEM], json.loads(old[_DATA]))
    if old[_ORG] == params["org"] and was == new:
        return None
    return (old[_ORG], old[_ITEM], old[_OPENED], normalize(old[_NUMBER]), was), terms.row(params, data, new)


# -- the query -------------------------------------------------------------------------------------


def _qualified(d: _Dialect, alias: str) -> str:
    out = []
    for c in (c.strip() for c in d.prepare(_CASE_COLS).split(",")):
        out.append(f"{alias}.{c}" if c.isidentifier() else c.replace("(", f"({alias}.", 1))
    return ", ".join(out)


def _after(q: str) -> str | None:
    """The least text greater than every text that begins with ``q`` (None: there is none)."""
    last = ord(q[-1])
    if last >= 0x10FFFF or 0xD7FF <= last < 0xE000:
        return None
    return q[:-1] + chr(last + 1)


def query(uow: Any, q: CaseQuery) -> list[Any] | None:
    """The case rows of a query with ``q`` in ``opened`` order (None: not for this module — the
    ``urgent`` order, or nothing to search by; ``query.py`` handles those)."""
    from .query import where_of

    found = needle(q.q)
    if found is None or q.order != "opened":
        return None
    d = uow.d
    if (q.limit is not None and q.limit <= 0) or (q.orgs is not None and not q.orgs):
        return []
    # org and item are on the search row; the other filters need the case's
    built = where_of(replace(q, q=None, after=None, limit=None, orgs=None, item_id=None), d, "c.")
    if built is None:
        return []
    where, params = built
    key: tuple[Any, str] | None = None
    if q.after is not None:
        key = _cursor(uow, q)
        if key is None:
            return []
    if found.short:
        return _by_heads(uow, found.text, q, where, params, key)
    few = _few_orgs(q)
    counts = _probe(uow, found, few)
    walk = _Walk(uow, found, q, key, where, params, counts)
    many = _may_be_common(found) or any(n > CANDIDATES for n in counts.values())
    if q.limit is not None and many:
        rows = walk.rows(window=WINDOW)  # a common beginning: the page is near
        if len(rows) == q.limit or walk.whole:
            return rows
    scope: list[str] = []
    if q.orgs is not None:
        scope.append(f"s.org IN ({', '.join(_bind(params, o) for o in sorted(q.orgs))})")
    if q.item_id is not None:
        scope.append(f"s.item_id = {_bind(params, q.item_id)}")
    if key is not None:
        scope.append(_after_key(params, key))
    found_rows = _candidates(uow, found, scope, dict(params), counts, few)
    if found_rows is None:
        return walk.rows()  # many matches: the walk in page order
    ordered = [cid for _, cid in sorted(found_rows)]  # few: the page from them
    if not where and q.limit is not None:
        ordered = ordered[: q.limit]  # nothing else to filter by: read only the page's cases
    if not ordered:
        return []
    cols = _qualified(d, "c")
    if d.name == "sqlite":
        params["ids"] = json.dumps(ordered)
        sql = f"SELECT {cols} FROM json_each(:ids) AS m CROSS JOIN cases AS c ON c.id = m.value"
    else:
        params["ids"] = ordered
        sql = f"SELECT {cols} FROM cases AS c"
        where = ["c.id = ANY(:ids)", *where]
    if where:
        sql += " WHERE " + " AND ".join(where)
    limit = f" LIMIT {int(q.limit)}" if q.limit is not None else ""
    return uow._all(d.prepare(sql + f" ORDER BY c.opened_at, c.id{limit}"), params, write=False)


def _merged(uow: Any, branches: list[str], params: dict[str, Any], limit: int | None) -> list[Any]:
    """The cases of ``branches`` (each: ``opened_at, case_id`` in page order, at most ``limit``)
    merged in page order, at most ``limit``."""
    d = uow.d
    join = "CROSS JOIN" if d.name == "sqlite" else "JOIN"  # SQLite: joined in the order written
    if len(branches) == 1:
        merged = branches[0]
    else:
        merged = " UNION ALL ".join(f"SELECT * FROM ({b}) AS b{n}" for n, b in enumerate(branches))
    cut = f" LIMIT {int(limit)}" if limit is not None else ""
    sql = (f"SELECT {_qualified(d, 'c')} FROM ({merged}) AS m {join} cases AS c ON c.id = m.case_id "
           f"ORDER BY m.opened_at, m.case_id{cut}")
    return uow._all(d.prepare(sql), params, write=False)


def _by_heads(uow: Any, head: str, q: CaseQuery, where: list[str], params: dict[str, Any],
              key: tuple[Any, str] | None) -> list[Any]:
    """The page of a one- or two-character query from ``case_heads``: per org in scope, the
    cases that begin with it after the cursor in page order (its key: a range
    read in order, stopped at the limit), joined to the case when other filters apply; the orgs'
    pages merged in page order."""
    d = uow.d
    params = {**params, "head": head}
    orgs = sorted(q.orgs) if q.orgs is not None else _orgs_with(uow)
    if not orgs:
        return []
    join = "CROSS JOIN" if d.name == "sqlite" else "JOIN"  # SQLite: joined in the order written
    common = ["h.head = :head"]
    if q.item_id is not None:
        common.append(f"h.item_id = {_bind(params, q.item_id)}")
    if key is not None:
        common.append(_after_key(params, key, "h"))
    common += where
    source = f"case_heads AS h {join} cases AS c ON c.id = h.case_id" if where else "case_heads AS h"
    limit = f" LIMIT {int(q.limit)}" if q.limit is not None else ""
    branches = [f"SELECT h.opened_at AS opened_at, h.case_id AS case_id FROM {source} "
                f"WHERE {' AND '.join([f'h.org = {_bind(params, org)}', *common])} "
                f"ORDER BY h.opened_at, h.case_id{limit}" for org in orgs]
    return _merged(uow, branches, params, q.limit)


def _orgs_with(uow: Any) -> list[str]:
    """Every org that has a case (no org scope: the caller sees them all), one seek of
    ``case_heads``'s key each."""
    sql = uow.d.prepare("SELECT MIN(org) FROM case_heads WHERE org > :org")
    orgs: list[str] = []
    row = uow._one(uow.d.prepare("SELECT MIN(org) FROM case_heads"), {}, write=False)
    while row is not None and row[0] is not None:
        orgs.append(row[0])
        row = uow._one(sql, {"org": row[0]}, write=False)
    return orgs


WINDOW = 2000  # rows a first look in page order reads (of each org walked), for a query that may match many
PER_ORG = 8  # a scope of at most this many orgs is walked org by org (ix_case_search_org_opened)


def _may_be_common(found: Needle) -> bool:
    """Whether a query may match a large share of the cases (a city's name, 有限公司, a bank):
    short, and no digit (numbers are found by their indexes at once)."""
    return len(found.text) <= 6 and not any(ch.isdigit() for ch in found.text)


def _few_orgs(q: CaseQuery) -> list[str] | None:
    """The caller's orgs when they are few enough to be read one by one (``PER_ORG``), else None."""
    return sorted(q.orgs) if q.orgs is not None and len(q.orgs) <= PER_ORG else None


def _probe(uow: Any, found: Needle, orgs: list[str] | None = None) -> dict[str, int]:
    """How many entries of each number index begin with the query — ``number`` (the number's
    beginning), ``rnumber`` (its end), ``part`` (a part's beginning; of ``orgs`` only, when
    given: ``ix_case_number_parts_org``) — counted to at most ``CANDIDATES + 1``: a range of the
    index alone, no row read. A test nothing can pass is left out of the walk (a name finds no
    number); more than ``CANDIDATES`` sends the query to the first look in page order
    (``420100-2026``: an org's whole year)."""
    d = uow.d
    text = found.text
    params: dict[str, Any] = {}
    counts: list[str] = []  # one statement, one round trip: a count of each index's range
    for name, table, value in (("number", "case_search", text), ("rnumber", "case_search", text[::-1]),
                               ("part", "case_number_parts", text)):
        hi = _after(value)
        if hi is None:
            counts.append(f"{CANDIDATES + 1}")
            continue
        where = f"{name} >= {_bind(params, value)} AND {name} < {_bind(params, hi)}"
        if name == "part" and orgs is not None:
            where = f"org IN ({', '.join(_bind(params, o) for o in orgs)}) AND {where}"
            table += " INDEXED BY ix_case_number_parts_org" if d.name == "sqlite" else ""
        counts.append(f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} LIMIT {CANDIDATES + 1}) AS {name}_x)")
    row = uow._one(d.prepare("SELECT " + ", ".join(counts)), params, write=False)
    return {"number": int(row[0]), "rnumber": int(row[1]), "part": int(row[2])}


class _Walk:
    """The search rows in page order, each tested, joined to its case: a clerk's few orgs each
    by its own range of ``ix_case_search_org_opened`` (the orgs' pages merged), a wider or no
    scope through ``ix_case_search_opened`` with the orgs as a filter."""

    def __init__(self, uow: Any, found: Needle, q: CaseQuery, key: tuple[Any, str] | None, where: list[str],
                 params: dict[str, Any], counts: Mapping[str, int] | None = None) -> None:
        self.uow, self.found, self.q, self.key, self.where = uow, found, q, key, where
        self.params, self.counts = params, counts
        self.whole = False

    def rows(self, window: int | None = None) -> list[Any]:
        """The page; with ``window``, only among the next ``window`` rows of each org walked (a
        look whose cost does not depend on how many cases match). ``self.whole``: whether the
        rows looked at were all the rows there are (then a short page is the last one)."""
        d, q = self.uow.d, self.q
        params = dict(self.params)
        test = row_test(d.name, self.found, params, counts=self.counts)
        few = _few_orgs(q)
        index = "ix_case_search_org_opened" if few is not None else "ix_case_search_opened"
        hint = f" INDEXED BY {index}" if d.name == "sqlite" else ""
        join = "CROSS JOIN" if d.name == "sqlite" else "JOIN"  # SQLite: joined in the order written
        ordered: list[str] = []  # what the page order's index reads: the org walked, after the cursor
        if self.key is not None:
            ordered.append(_after_key(params, self.key))
        tested = [test]
        if q.item_id is not None:
            tested.append(f"s.item_id = {_bind(params, q.item_id)}")
        if q.orgs is not None and few is None:
            tested.append(f"s.org IN ({', '.join(_bind(params, o) for o in sorted(q.orgs))})")
        limit = f" LIMIT {int(q.limit)}" if q.limit is not None else ""
        branches = []
        self.whole = True
        for org in few if few is not None else [None]:
            read = [f"s.org = {_bind(params, org)}", *ordered] if org is not None else ordered
            source = f"case_search AS s{hint}"
            if window is not None:
                # the window's last row, from the index alone; the walk then reads up to it, in
                # order, and stops at the page (a LIMIT in a subquery would read and sort it all)
                where = f" WHERE {' AND '.join(read)}" if read else ""
                last = self.uow._one(d.prepare(f"SELECT s.opened_at, s.case_id FROM {source}{where} "
                                               f"ORDER BY s.opened_at, s.case_id LIMIT 1 OFFSET {int(window) - 1}"),
                                     params, write=False)
                if last is not None:
                    self.whole = False
                    read = [*read, f"(s.opened_at, s.case_id) <= ({_bind(params, last[0])}, {_bind(params, last[1])})"]
            if self.where:
                source += f" {join} cases AS c ON c.id = s.case_id"
            branches.append(f"SELECT s.opened_at AS opened_at, s.case_id AS case_id FROM {source} "
                            f"WHERE {' AND '.join([*read, *tested, *self.where])} ORDER BY s.opened_at, s.case_id{limit}")
        return _merged(self.uow, branches, params, q.limit)


def row_test(dialect: str, found: Needle, params: dict[str, Any], s: str = "s",
             counts: Mapping[str, int] | None = None) -> str:
    """The rule as SQL on a ``case_search`` row named ``s``; ``counts`` (``_probe``): the number
    tests no case can pass are left out."""
    params.update(q_text=found.text, q_len=len(found.text), q_names=found.in_names)

    def can(name: str) -> bool:
        return counts is None or counts.get(name, 1) > 0

    if dialect == "sqlite":
        tests = [f"substr({s}.number, 1, :q_len) = :q_text"] if can("number") else []
        if not found.short and can("rnumber"):
            tests.append(f"substr({s}.number, -:q_len) = :q_text")
        tests.append(f"instr({s}.names, :q_names) > 0")
    else:
        tests = [f"left({s}.number, :q_len) = :q_text"] if can("number") else []
        if not found.short and can("rnumber"):
            tests.append(f"right({s}.number, :q_len) = :q_text")
        tests.append(f"strpos({s}.names, :q_names) > 0")
    if not found.short and can("part"):  # a part begins with it (the parts of this case: its primary key)
        hi = _after(found.text)
        if hi is None:
            begins = ("substr(p.part, 1, :q_len) = :q_text" if dialect == "sqlite"
                      else "left(p.part, :q_len) = :q_text")
        else:  # a range of the primary key (case_id, part)
            params.update(q_part_hi=hi)
            begins = "p.part >= :q_text AND p.part < :q_part_hi"
        # PostgreSQL: OFFSET 0 keeps it a look-up a row; else, under an OR, the planner may
        # hash every part that begins so (a scan of the whole table) before the first row
        fence = " OFFSET 0" if dialect == "postgresql" else ""
        tests.append(f"EXISTS (SELECT 1 FROM case_number_parts AS p WHERE p.case_id = {s}.case_id AND {begins}{fence})")
    return "(" + " OR ".join(tests) + ")"


def _after_key(params: dict[str, Any], key: tuple[Any, str], alias: str = "s") -> str:
    """The rows after the cursor's (opened_at, id) in page order, on the row named ``alias``."""
    return f"({alias}.opened_at, {alias}.case_id) > ({_bind(params, key[0])}, {_bind(params, key[1])})"


def _bind(params: dict[str, Any], value: Any) -> str:
    name = f"p{len(params)}"
    params[name] = value
    return ":" + name


def _cursor(uow: Any, q: CaseQuery) -> tuple[Any, str] | None:
    """The page's starting key: the ``after`` case's (opened_at, id), if it still matches the
    query's other filters (else None: an empty page, as without ``q``)."""
    from .query import where_of

    built = where_of(replace(q, q=None, after=None, limit=None), uow.d, "")
    if built is None:
        return None
    where, params = built
    params["after_id"] = q.after
    sql = "SELECT opened_at, id FROM cases WHERE " + " AND ".join([*where, "id = :after_id"])
    row = uow._one(uow.d.prepare(sql), params, write=False)
    return (row[0], row[1]) if row is not None else None


def _candidates(uow: Any, found: Needle, scope: list[str], params: dict[str, Any],
                counts: Mapping[str, int], orgs: list[str] | None = None) -> set[tuple[Any, str]] | None:
    """(opened_at, id) of the matching cases in scope (org, item, after the cursor) from the
    indexes, or None when one of them gives more than ``CANDIDATES`` (or a name test no index
    serves). ``counts`` (``_probe``): an index no entry of which begins with the query is not read;
    ``orgs``: the caller's few orgs, whose parts alone are read (``ix_case_number_parts_org``)."""
    d = uow.d
    cap = f" LIMIT {CANDIDATES + 1}"
    where = "".join(" AND " + w for w in scope)
    lookups: list[tuple[str, dict[str, Any]]] = []
    text = found.text
    for column, value in (("number", text), ("rnumber", text[::-1])):
        if counts[column] == 0:
            continue
        hi = _after(value)
        if hi is None:
            return None
        # SQLite: the range's own index, named (with a scope, the planner may take the org's
        # rows in page order instead, and read them all)
        hint = f" INDEXED BY ix_case_search_{column}" if d.name == "sqlite" else ""
        lookups.append((f"SELECT s.opened_at, s.case_id FROM case_search AS s{hint} WHERE s.{column} >= :lo "
                        f"AND s.{column} < :hi{where}{cap}", {**params, "lo": value, "hi": hi}))
    if counts["part"]:  # the parts that begin with it (ix_case_number_parts_part: a range)
        hi = _after(text)
        if hi is None:
            return None
        join = "CROSS JOIN" if d.name == "sqlite" else "JOIN"
        bound = {**params, "lo": text, "hi": hi}
        source, own = "case_number_parts AS p", ""
        if orgs is not None:
            source += " INDEXED BY ix_case_number_parts_org" if d.name == "sqlite" else ""
            own = f"p.org IN ({', '.join(_bind(bound, o) for o in orgs)}) AND "
        lookups.append((f"SELECT DISTINCT s.opened_at, s.case_id FROM {source} {join} case_search AS s "
                        f"ON s.case_id = p.case_id WHERE {own}p.part >= :lo AND p.part < :hi{where}{cap}", bound))
    names = found.in_names
    if d.name == "sqlite":
        # every trigram of the needle (MATCH: the index alone; GLOB would read each row's
        # content through the FTS5 table as well), then the needle itself on the row
        grams = " AND ".join(f'"{g}"' for g in sorted({names[i:i + 3] for i in range(len(names) - 2)}))
        lookups.append(("SELECT s.opened_at, s.case_id FROM case_search_fts AS f CROSS JOIN case_search AS s ON s.id = f.rowid "
                        f"WHERE case_search_fts MATCH :match AND instr(s.names, :names) > 0{where}{cap}",
                        {**params, "match": grams, "names": names}))
    else:
        if not uow.store.search_trigrams:
            return None
        lookups.append((f"SELECT s.opened_at, s.case_id FROM case_search AS s WHERE s.names LIKE :like "
                        f"AND strpos(s.names, :names) > 0{where}{cap}",
                        {**params, "like": f"%{names}%", "names": names}))
    found_rows: set[tuple[Any, str]] = set()
    for sql, bound in lookups:
        rows = uow._all(d.prepare(sql), bound, write=False)
        if len(rows) > CANDIDATES:
            return None
        found_rows.update((r[0], r[1]) for r in rows)
    return found_rows


# -- keeping the index: the engine's fields, rebuilding ------------------------------------------------

CONFIG_KEY = "_search_fields"  # sequences row: a hash of the fields the rows were built with


def fields_hash(fields: Mapping[str, tuple[str, ...]]) -> int:
    import hashlib

    text = json.dumps({k: list(v) for k, v in sorted(fields.items()) if v}, ensure_ascii=False, sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") >> 1  # an INTEGER column


def attach(store: Any, registry: Any) -> None:
    """Take the engine's searchable fields; when the rows were built with other fields (a
    definition marked a field, an office's own items), rebuild them first."""
    fields = searchable_fields(registry.all())
    store.search = Terms(fields)
    with store.unit_of_work() as uow:
        row = uow._one(uow.q["seq_value"], {"key": CONFIG_KEY}, write=False)
    if row is None or int(row[0]) != fields_hash(fields):
        n = rebuild(store, fields)
        if n:
            log.info("search index rebuilt for %d cases (the searchable fields changed)", n)


_LOCK_KEY = 0x63617365_73  # PostgreSQL advisory lock: one rebuild at a time


def rebuild(store: Any, fields: Mapping[str, tuple[str, ...]] | None = None, *, force: bool = False) -> int:
    """Write every case's search row again from its data, in one transaction (other writers
    wait); returns the cases written (0: the rows were already built with these fields)."""
    terms = Terms(fields if fields is not None else store.search.fields)
    wanted = fields_hash(terms.fields)
    with store.unit_of_work() as uow:
        if uow.d.name == "postgresql":
            uow._exec(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})", {}, write=True)
        row = uow._one(uow.q["seq_value"], {"key": CONFIG_KEY}, write=True)
        if row is not None and int(row[0]) == wanted and not force:
            return 0  # another process did it meanwhile
        n = refill(uow._cur, uow.d.name, terms)
        uow._exec(uow.d.prepare(
            "INSERT INTO sequences (key, value) VALUES (:key, :value) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"key": CONFIG_KEY, "value": wanted},
            write=True)
        uow.commit()
    return n


def refill(cur: Any, dialect: str, terms: Terms) -> int:
    """Empty ``case_search`` and ``case_heads`` and fill them again (SQLite: without the FTS
    triggers, then one FTS5 ``rebuild``: far quicker than a trigger a row)."""
    if dialect == "sqlite":
        for stmt in FTS_DROP[:3]:
            cur.execute(stmt)
        cur.execute("DELETE FROM case_heads")
        cur.execute("DELETE FROM case_search")
        n = fill(cur, dialect, terms)
        cur.execute("INSERT INTO case_search_fts (case_search_fts) VALUES ('rebuild')")
        for stmt in FTS_DDL[FTS_TRIGGERS:]:
            cur.execute(stmt)
    else:
        cur.execute("TRUNCATE case_search, case_heads")  # PostgreSQL: no dead rows left behind
        n = fill(cur, dialect, terms)
    fill_heads(cur, dialect)
    return n


def part_rows(case_id: str, number: str, org: str = "") -> list[dict[str, Any]]:
    """The ``case_number_parts`` rows of a case (``SqlUnitOfWork.add_case``), with its org."""
    return [{"case_id": case_id, "part": p[:128], "org": org} for p in number_parts(number)]


HEAD_COLUMNS = ("case_id", "head", "org", "item_id", "opened_at")


def head_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``case_heads`` rows of a case, from its ``case_search`` row (``Terms.row``)."""
    return [{"case_id": row["case_id"], "head": h, "org": row["org"], "item_id": row["item_id"],
             "opened_at": row["opened_at"]} for h in heads(row["number"], row["names"])]


def heads_changed(was: Any, row: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``case_heads`` rows to delete and to insert when a case's search row becomes ``row``;
    ``was``: its row as stored (org, item_id, opened_at, number, names), or None."""
    new = head_rows(row)
    if was is None:
        return [], new
    old = head_rows({"case_id": row["case_id"], "org": was[0], "item_id": was[1], "opened_at": was[2],
                     "number": was[3], "names": was[4]})
    key = ("org", "head")  # the case and its opening instant do not change
    if old and old[0]["item_id"] == row["item_id"]:
        kept = {tuple(r[k] for k in key) for r in old} & {tuple(r[k] for k in key) for r in new}
        old = [r for r in old if tuple(r[k] for k in key) not in kept]
        new = [r for r in new if tuple(r[k] for k in key) not in kept]
    return [{k: r[k] for k in ("org", "head", "opened_at", "case_id")} for r in old], new


def fill_heads(cur: Any, dialect: str) -> int:
    """Write the heads of every case from its ``case_search`` row on a DB-API cursor (migration
    0010 and ``refill``), a batch at a time in page order (PostgreSQL: ``COPY``); returns the
    rows written."""
    total = 0
    for rows in _batches(cur, dialect, "case_id, org, item_id, opened_at, number, names", "opened_at, case_id",
                         lambda r: (r[3], r[0]), table="case_search"):
        out = [(cid, h, org, item, opened) for cid, org, item, opened, number, names in rows
               for h in heads(number, names)]
        _write(cur, dialect, "case_heads", HEAD_COLUMNS, out)
        total += len(out)
    return total


def _write(cur: Any, dialect: str, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` into ``table`` on a DB-API cursor: SQLite ``executemany``, PostgreSQL ``COPY``."""
    if dialect == "sqlite":
        marks = ", ".join("?" * len(columns))
        cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def fill_parts(cur: Any, dialect: str) -> int:
    """Write the number parts of every case that has none on a DB-API cursor (migration 0008),
    a batch at a time; returns the rows written."""
    ph = "?" if dialect == "sqlite" else "%s"
    insert = f"INSERT INTO case_number_parts (case_id, part) VALUES ({ph}, {ph}) ON CONFLICT DO NOTHING"
    total = 0
    for rows in _batches(cur, dialect, "id, number", "id", lambda r: (r[0],)):
        out = [(r["case_id"], r["part"]) for cid, number in rows for r in part_rows(cid, number)]
        if out:
            cur.executemany(insert, out)
        total += len(out)
    return total


def _batches(cur: Any, dialect: str, cols: str, order: str,
             key_of: Callable[[Any], tuple[Any, ...]], table: str = "cases") -> Iterator[list[Any]]:
    """Every row of ``table`` (``cols``) in ``order`` (its columns, the last one unique), ``BATCH``
    at a time: each batch after the previous one's last ``key_of(row)`` (keyset paging)."""
    ph = "?" if dialect == "sqlite" else "%s"
    marks = ", ".join([ph] * len(order.split(",")))
    cur.execute(f"SELECT {cols} FROM {table} ORDER BY {order} LIMIT {BATCH}")
    while True:
        rows = cur.fetchall()
        if not rows:
            return
        yield rows
        cur.execute(f"SELECT {cols} FROM {table} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT {BATCH}",
                    key_of(rows[-1]))


def fill(cur: Any, dialect: str, terms: Terms) -> int:
    """Insert the search row of every case on a DB-API cursor (migration 0007 and ``rebuild``),
    in page order (``opened_at, id``: a walk in page order then reads the table in the order it
    is stored, as it does for rows added as cases open), a batch at a time (PostgreSQL: ``COPY``)."""
    cols = f"id, number, item_id, org, opened_at, {'data' if dialect == 'sqlite' else 'CAST(data AS text)'}"
    total = 0
    for rows in _batches(cur, dialect, cols, "opened_at, id", lambda r: (r[4], r[0])):
        out = []
        for cid, number, item, org, opened, data in rows:
            key = normalize(number)
            out.append((cid, org, item, opened, key, key[::-1], terms.names(item, _data(data))))
        _write(cur, dialect, "case_search", COLUMNS, out)
        total += len(rows)
    return total


def _data(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, Mapping) else {}


def shipped_fields(bodies: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """item id → searchable fields, from definition mappings (the migration's backfill)."""
    from workflow.search import searchable_in_raw

    out: dict[str, list[str]] = {}
    for body in bodies:
        did = body.get("id")
        if not isinstance(did, str):
            continue
        names = out.setdefault(did, [])
        names += [f for f in searchable_in_raw(body) if f not in names]
    return {k: tuple(v) for k, v in out.items()}


__all__ = ["CANDIDATES", "COLUMNS", "FTS_DDL", "FTS_DROP", "HEAD_COLUMNS", "Terms", "attach", "changed",
           "fields_hash", "fill", "fill_heads", "fill_parts", "head_rows", "heads_changed", "part_rows", "query", "rebuild", "refill", "row_test", "shipped_fields", "trgm_index_ddl", "trgm_schema"]
