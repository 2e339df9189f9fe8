"""Seed many open cases fast (the scale benchmark, bench/scale.py): SQLite or PostgreSQL.

    .venv/bin/python bench/scale_seed.py --db sqlite:///bench/.scale.db --to 100000
    .venv/bin/python bench/scale_seed.py --db postgresql+psycopg://postgres@127.0.0.1:5432/caseclock_scale --to 1000000

Opening a million cases through ``Engine.open_case`` takes hours (a commit, clock work and an
audit event each). Here:

1. Templates: on an empty database, ``api.demo.fill`` opens realistic cases across items and orgs
   in the past (walked some way along their definitions) and sweeps at the real now, so they carry
   real states, clocks, deadlines, escalations and SLA levels. The open ones with short histories
   (at most ``--max-events`` events) are the templates.
2. Clones: each template is copied into the store's own tables (``cases``, ``events``,
   ``deadlines``) with a new id and number and an org drawn as the demo draws them, in
   transactions of ``--batch`` cases: SQLite through the store's own INSERT statements
   (``executemany`` on its connection), PostgreSQL with ``COPY``. Each clone's history is
   re-chained (its own hashes: ``caseclock audit verify`` passes) and its deadline rows are the
   template's (pending ones stay pending, fired ones stay fired).
3. The board's counters (``sla_counts``) are added to in the same transaction as each batch, the
   way the store keeps them for every case write (``adapters/sql/counters.py``); ``--check``
   compares them with a GROUP BY over all cases at the end. Then ``ANALYZE``.
4. Each clone gets party names of its own (``bench/parties.py``: companies of Hubei's cities,
   banks, persons) in the fields its definition marks searchable, and its search rows
   (``case_search``, its number's parts ``case_number_parts``, its beginnings ``case_heads``:
   ``adapters/sql/search.py``) in the same batch. A clone's number is numbered as an office
   numbers (``SCALE-420100-2026-0000017``: prefix, org, year, serial).

Incremental: run again with a larger ``--to`` and it adds only what is missing (10k, then 100k,
then 1M on one database).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import build_engine  # noqa: E402
from adapters.sql import counters, search  # noqa: E402
from adapters.sql.dialect import _dumps  # noqa: E402
from api.demo import ORGS, SimClock, fill  # noqa: E402
from bench.parties import Parties  # noqa: E402

_ALL_ORGS = ("420000", "420100", "420200", "420300", "420500", "420600", "420700", "420800", "420900",
             "421000", "421100", "421200", "421300", "422800", "429004", "429005", "429006", "429021")


class Template:
    """One open case as rows, ready to copy: the case's parameters, its events, its deadlines."""

    def __init__(self, uow: Any, rec: Any) -> None:
        self.rec = rec
        self.case = uow._case_params(rec)
        self.events = uow.events(rec.id)
        self.deadlines = uow.deadlines(rec.id)


def open_count(store: Any) -> int:
    return sum(n for *_, n in counters.count_open_by_sla(store))


def templates(engine: Any, clock: SimClock, count: int, max_events: int, seed: int) -> list[Template]:
    store = engine.store
    with store.unit_of_work() as uow:
        empty = uow.fetch_one("SELECT COUNT(*) FROM cases")[0] == 0
    if empty:
        t0 = time.perf_counter()
        r = fill(engine, clock, count=count, seed=seed)
        print(f"templates: demo opened {r.opened} cases, {r.escalations} escalations, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    with store.unit_of_work() as uow:
        ids = [r[0] for r in uow.fetch_all(uow.d.prepare(
            "SELECT id FROM cases WHERE closed_at IS NULL AND parent_id IS NULL AND number NOT LIKE :clones "
            "AND seq <= :most ORDER BY id"), {"clones": "SCALE-%", "most": int(max_events)})]
        out = [Template(uow, uow.get_case(i)) for i in ids]
    return [t for t in out if len(t.events) == t.rec.seq]


def _clone(t: Template, n: int, org: str, stamp: str, d: Any, store: Any, parties: Parties,
           ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any],
                      list[dict[str, Any]], list[dict[str, Any]]]:
    cid = uuid.uuid4().hex
    names = {f: parties.name_for(f) for f in store.search.fields.get(t.rec.item_id, ()) if f in t.rec.data}
    data = {**t.rec.data, **names}
    prev = ""
    events = []
    for ev in t.events:
        e = replace(ev, case_id=cid, prev_hash=prev, hash="",
                    data={**ev.data, **{k: v for k, v in names.items() if k in ev.data}})
        h = e.compute_hash()
        events.append({
            "case_id": cid, "seq": e.seq, "kind": e.kind, "trigger": e.trigger, "actor_id": e.actor_id,
            "at": d.ts(e.at), "from_state": e.from_state, "to_state": e.to_state,
            "data": _dumps(dict(e.data)), "prev_hash": prev, "hash": h,
        })
        prev = h
    # numbered as an office numbers (prefix, org, year, serial), so that a number found in part
    # (``420100-2026``, ``2026-00017``) is measured too; the serial counts on from the cases there
    case = {**t.case, "id": cid, "number": f"SCALE-{org}-{stamp}-{n:07d}", "org": org,
            "last_hash": prev, "assignee": None, "data": _dumps(data)}
    deadlines = [{"case_id": cid, "clock": x.clock, "run": x.run, "level": x.level, "due_at": d.ts(x.due_at),
                  "state": x.state, "seen_at": d.ts(x.seen_at), "org": org, "item_id": x.item_id}
                 for x in t.deadlines]
    found = store.search.row(case, data)
    return case, events, deadlines, found, search.part_rows(cid, case["number"], org), search.head_rows(found)


def _insert_sqlite(store: Any, rows: dict[str, list], counts: Counter) -> None:
    with store.unit_of_work() as uow:
        q = uow.q
        for table, statement in (("events", "append_event"), ("cases", "add_case"), ("deadlines", "dl_insert"),
                                 ("case_search", "search_insert"), ("case_number_parts", "part_insert"),
                                 ("case_heads", "head_insert")):
            if rows[table]:
                uow._exec_many(q[statement], rows[table])
        _add_counts(uow, counts)
        uow.commit()


def _add_counts(uow: Any, counts: Counter) -> None:
    rows = [{"org": o, "item_id": i, "level": lvl, "n": n} for (o, i, lvl), n in sorted(counts.items())]
    uow._exec_many(uow.d.prepare(counters.UPSERT), rows)


_CASE_COLS = ("id", "number", "item_id", "definition_version", "state", "version", "org", "assignee",
              "data", "clocks", "opened_at", "started_on", "closed_at", "sla", "due_at", "parent_id",
              "created_by", "last_hash", "seq")
_EVENT_COLS = ("case_id", "seq", "kind", "trigger", "actor_id", "at", "from_state", "to_state", "data",
               "prev_hash", "hash")
_DL_COLS = ("case_id", "clock", "run", "level", "due_at", "state", "seen_at", "org", "item_id")
_COLS = {"events": _EVENT_COLS, "cases": _CASE_COLS, "deadlines": _DL_COLS, "case_search": search.COLUMNS,
         "case_number_parts": ("case_id", "part", "org"), "case_heads": search.HEAD_COLUMNS}


def _insert_postgres(store: Any, rows: dict[str, list], counts: Counter) -> None:
    with store.unit_of_work() as uow:
        uow._begin(True)
        cur = uow._cur
        for table, cols in _COLS.items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for r in rows[table]:
                    copy.write_row(tuple(r[c] for c in cols))
        _add_counts(uow, counts)
        uow.commit()


def seed(url: str, to: int, *, batch: int = 20_000, template_cases: int = 300, max_events: int = 4,
         seed_: int = 7, check: bool = False, quiet: bool = False) -> dict[str, Any]:
    clock = SimClock()
    # a bulk load: NORMAL (no fsync per commit) and a large page cache for the random-key indexes
    engine = build_engine(url, now=clock, store_options={"synchronous": "NORMAL"} if url.startswith("sqlite") else None)
    store = engine.store
    if store.is_sqlite:
        with store.unit_of_work() as uow:
            uow.execute("PRAGMA cache_size=-1048576", write=False)  # 1 GiB, this connection only
    try:
        tpl = templates(engine, clock, template_cases, max_events, seed_)
        if not tpl:
            raise SystemExit("no template: the demo left no open case with a short history")
        have = open_count(store)
        rng = random.Random(seed_ + have)
        parties = Parties(seed_ + have)
        orgs, weights = zip(*ORGS, strict=True)
        # most cases in the demo's busy orgs, some in every other org of the province
        orgs, weights = (*orgs, *(o for o in _ALL_ORGS if o not in orgs)), (*weights, *([0.5] * 12))
        insert = _insert_postgres if store.is_postgres else _insert_sqlite
        stamp = time.strftime("%Y")
        t0 = time.perf_counter()
        added = 0
        while have + added < to:
            k = min(batch, to - have - added)
            rows: dict[str, list] = {table: [] for table in _COLS}
            counts: Counter = Counter()
            for j in range(k):
                t = tpl[rng.randrange(len(tpl))]
                org = rng.choices(orgs, weights)[0]
                c, e, dl, row, parts, heads = _clone(t, have + added + j, org, stamp, store.dialect, store, parties)
                rows["cases"].append(c)
                rows["events"] += e
                rows["deadlines"] += dl
                rows["case_search"].append(row)
                rows["case_number_parts"] += parts
                rows["case_heads"] += heads
                counts[(org, c["item_id"], c["sla"])] += 1
            insert(store, rows, counts)
            added += k
            if not quiet:
                rate = added / (time.perf_counter() - t0)
                print(f"  {have + added:,} open cases ({rate:,.0f} cases/s)", flush=True)
        seconds = time.perf_counter() - t0
        with store.unit_of_work() as uow:
            uow.execute("ANALYZE")
            uow.commit()
        result: dict[str, Any] = {"open_cases": open_count(store), "added": added, "seconds": seconds,
                                  "templates": len(tpl)}
        levels: Counter[str] = Counter()
        for (_, _, lvl), n in counters.counted(store).items():
            levels[lvl] += n
        result["levels"] = dict(levels)
        if check:
            diff = counters.differences(store)
            result["counters_match"] = not diff
            if diff:
                print(f"counters differ from the cases: {diff}", file=sys.stderr)
        return result
    finally:
        store.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL (sqlite:///file or postgresql+psycopg://…)")
    ap.add_argument("--to", type=int, required=True, help="open cases wanted in total")
    ap.add_argument("--batch", type=int, default=20_000, help="cases per transaction")
    ap.add_argument("--templates", type=int, default=300, help="cases the demo opens for templates")
    ap.add_argument("--max-events", type=int, default=4, help="longest history a template may have")
    ap.add_argument("--check", action="store_true", help="compare the counters with a GROUP BY at the end")
    args = ap.parse_args()
    r = seed(args.db, args.to, batch=args.batch, template_cases=args.templates, max_events=args.max_events,
             check=args.check)
    print(f"{r['open_cases']:,} open cases ({r['added']:,} added in {r['seconds']:.1f} s"
          + (f", {r['added'] / r['seconds']:,.0f}/s" if r["added"] else "") + f"); levels {r['levels']}"
          + ("" if "counters_match" not in r else f"; counters match the cases: {r['counters_match']}"))
    return 0 if r.get("counters_match", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
