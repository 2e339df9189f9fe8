"""The SQL search index (``case_search``): migration 0007 backfills the cases already there and
goes back down cleanly; an engine whose definitions mark other fields rebuilds the rows when it
starts (and the marker changes no definition version)."""

from __future__ import annotations

from pathlib import Path

from adapters import build_engine
from adapters.sql import SqlStore, upgrade
from adapters.sql import search as sql_search
from adapters.sql.migrate import current_revision
from tests.backends import table_names
from tests.contract.conftest import BOSS, CLERK, PLEDGE
from workflow import Actor

PLEDGE_ITEM = "patent_pledge_registration"


def _tables(store: SqlStore) -> set[str]:
    return table_names(store)


def test_0007_backfills_the_cases_there_and_downgrades(sql_url):
    from alembic import command

    from adapters.sql.migrate import alembic_config, script_head

    engine = build_engine(sql_url)
    opened = [engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": f"襄阳轴承{i}厂", "pledgee": "农业银行"})
              for i in range(4)]
    engine.fire(opened[2].id, "withdraw", actor=CLERK)
    engine.store.dispose()

    store = SqlStore(sql_url)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), "0006")
            conn.commit()
        assert current_revision(store.engine) == "0006"
        gone = _tables(store)
        assert "case_search" not in gone and not {t for t in gone if t.startswith("case_search_fts")}
    finally:
        store.dispose()
    assert upgrade(sql_url) == script_head()
    store = SqlStore(sql_url, create=False)
    try:
        have = _tables(store)
        assert "case_search" in have
        assert ("case_search_fts" in have) if store.is_sqlite else ("ix_case_search_trgm" in have)
        with store.unit_of_work() as uow:
            rows = {r[0]: tuple(r[1:]) for r in uow.fetch_all("SELECT case_id, number, rnumber, names FROM case_search")}
            stamp = uow.fetch_one(uow.q["seq_value"], {"key": sql_search.CONFIG_KEY})[0]
        keys = {c.id: c.number.replace("-", "").lower() for c in opened}
        assert rows == {c.id: (keys[c.id], keys[c.id][::-1], f"\n襄阳轴承{i}厂\n农业银行") for i, c in enumerate(opened)}
    finally:
        store.dispose()
    again = build_engine(sql_url)
    try:
        with again.store.unit_of_work() as uow:  # the shipped definitions: nothing to rebuild
            assert uow.fetch_one(uow.q["seq_value"], {"key": sql_search.CONFIG_KEY})[0] == stamp
        assert [c.number for c in again.list_cases(CLERK, q="襄阳轴承")] == [c.number for c in opened]
        assert [c.number for c in again.list_cases(CLERK, q="轴承2厂")] == [opened[2].number]
        assert [c.number for c in again.list_cases(CLERK, q=opened[3].number[-5:])] == [opened[3].number]
    finally:
        again.store.dispose()


def test_marking_a_field_rebuilds_the_rows_and_needs_no_new_version(sql_url, tmp_path: Path):
    marked = tmp_path / "pledge.yaml"
    marked.write_text(PLEDGE.read_text(encoding="utf-8").replace(
        "{name: applicant, type: string, label: 申请人}", "{name: applicant, type: string, label: 申请人, searchable: true}"),
        encoding="utf-8")
    assert "searchable: true" in marked.read_text(encoding="utf-8")
    plain = build_engine(sql_url, definitions=[PLEDGE])
    case = plain.open_case("pledge", actor=CLERK, data={"applicant": "十堰东风零部件有限公司"})
    assert plain.list_cases(CLERK, q="东风零部件") == []  # not marked: not searched
    plain.store.dispose()

    searching = build_engine(sql_url, definitions=[marked])  # same id and version: accepted
    try:
        assert [c.id for c in searching.list_cases(CLERK, q="东风零部件")] == [case.id]
        assert searching.definition("pledge").content_hash == plain.definition("pledge").content_hash
    finally:
        searching.store.dispose()
    back = build_engine(sql_url, definitions=[PLEDGE])
    try:
        assert back.list_cases(CLERK, q="东风零部件") == []
        assert [c.id for c in back.list_cases(CLERK, q=case.number)] == [case.id]
    finally:
        back.store.dispose()


def _down_and_up(sql_url: str, revision: str, table: str) -> None:
    """Down to ``revision`` (``table`` is gone), then up to the head again."""
    from alembic import command

    from adapters.sql.migrate import alembic_config, script_head

    store = SqlStore(sql_url)
    try:
        with store.engine.connect() as conn:
            command.downgrade(alembic_config(conn), revision)
            conn.commit()
        assert table not in _tables(store)
    finally:
        store.dispose()
    assert upgrade(sql_url) == script_head()


def test_0008_writes_the_number_parts_of_the_cases_there_and_downgrades(sql_url):
    """A number found in part (``420100-2026``): the parts of cases opened before 0008 are
    written by it; after it, every new case's are written with the case."""
    from workflow.search import number_parts

    engine = build_engine(sql_url)
    opened = [engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": f"荆州纺织{i}厂", "pledgee": "农业银行"})
              for i in range(3)]
    engine.store.dispose()
    _down_and_up(sql_url, "0007", "case_number_parts")
    again = build_engine(sql_url)
    try:
        with again.store.unit_of_work() as uow:
            rows = sorted(tuple(r) for r in uow.fetch_all("SELECT case_id, part FROM case_number_parts"))
        assert rows == sorted((c.id, p) for c in opened for p in number_parts(c.number))
        assert len(rows) == 2 * len(opened)  # ZYDJ-420100-2026-0000N: from the org on, from the year on
        later = again.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": "荆州纺织9厂"})
        middle = later.number.split("-", 1)[1][:11]  # 420100-2026
        assert [c.number for c in again.list_cases(CLERK, q=middle)] == [c.number for c in [*opened, later]]
        assert [c.number for c in again.list_cases(CLERK, q=middle, open=True, limit=2)] == \
            [c.number for c in opened[:2]]
    finally:
        again.store.dispose()


def test_0013_gives_the_number_parts_their_case_s_org_and_downgrades(sql_url):
    """A number's parts by org: 0013 writes the org of each case's parts already there (from the
    case), and a clerk's query counts and reads the parts of the clerk's orgs only."""
    engine = build_engine(sql_url)
    yichang = Actor("yc.clerk", {"clerk"}, org="420500")
    wuhan = [engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": f"荆州纺织{i}厂"}) for i in range(2)]
    other = engine.open_case(PLEDGE_ITEM, actor=yichang, data={"pledgor": "宜昌纺织厂"})
    engine.store.dispose()
    _down_and_up(sql_url, "0012", "no such table")
    again = build_engine(sql_url)
    try:
        with again.store.unit_of_work() as uow:
            rows = {(r[0], r[1]) for r in uow.fetch_all("SELECT case_id, org FROM case_number_parts")}
        assert rows == {(c.id, c.org) for c in [*wuhan, other]} and other.org == "420500"
        later = again.open_case(PLEDGE_ITEM, actor=yichang, data={"pledgor": "宜昌纺织二厂"})
        with again.store.unit_of_work() as uow:
            assert {r[1] for r in uow.fetch_all("SELECT case_id, org FROM case_number_parts")
                    if r[0] == later.id} == {"420500"}
        wuhan_year = wuhan[0].number.split("-", 1)[1][:11]  # 420100-2026
        yichang_year = other.number.split("-", 1)[1][:11]  # 420500-2026
        assert [c.id for c in again.list_cases(CLERK, q=wuhan_year)] == [c.id for c in wuhan]
        assert again.list_cases(CLERK, q=yichang_year) == []
        assert [c.id for c in again.list_cases(yichang, q=yichang_year)] == [other.id, later.id]
    finally:
        again.store.dispose()


def test_a_short_query_reads_its_page_as_a_range_in_page_order(tmp_path):
    """SQLite's plan of a one- or two-character query: per org a range of ``case_heads``'s key
    (org, head, then page order), read in order with the page's LIMIT — no sort of every case
    that begins with it; only the orgs' pages (at most limit × orgs rows) are merged."""
    engine = build_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    store = engine.store
    try:
        for i in range(3):
            engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": f"武汉轴承{i}厂", "pledgee": "农业银行"})
        store.trace = []
        page = engine.list_cases(CLERK, q="武汉", limit=2, open=True)
        assert len(page) == 2
        sql, params = next((s, p) for s, p in store.trace if "case_heads" in s)
        store.trace = None
        with store.unit_of_work() as uow:
            plan = [r[-1] for r in uow.fetch_all("EXPLAIN QUERY PLAN " + sql, params)]
        searches = [p for p in plan if p.startswith("SEARCH h ")]
        assert searches and all("PRIMARY KEY (org=? AND head=?" in p for p in searches), plan
        assert not any("SCAN h" in p for p in plan), plan
        assert sum("TEMP B-TREE" in p for p in plan) <= 1, plan  # the merge of the orgs' pages only
    finally:
        store.dispose()


def test_0010_writes_the_heads_of_the_cases_there_and_downgrades(sql_url):
    """A short query's index (``case_heads``): the heads of cases opened before 0010 are written
    by it from their search rows; after it, every new case's are written with the case."""
    from workflow.search import heads, names_text, normalize

    engine = build_engine(sql_url)
    opened = [engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": f"荆门化工{i}厂", "pledgee": "工商银行"})
              for i in range(3)]
    fields = engine.store.search.fields[PLEDGE_ITEM]
    engine.store.dispose()
    _down_and_up(sql_url, "0009", "case_heads")
    again = build_engine(sql_url)
    try:
        with again.store.unit_of_work() as uow:
            rows = sorted(tuple(r) for r in uow.fetch_all("SELECT case_id, head, org FROM case_heads"))
        assert rows == sorted((c.id, h, c.org) for c in opened
                              for h in heads(normalize(c.number), names_text(c.data, fields)))
        assert {h for _, h, _ in rows} >= {"荆", "荆门", "工", "工商"}
        later = again.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": "荆门化工9厂"})
        assert [c.number for c in again.list_cases(CLERK, q="荆门")] == [c.number for c in [*opened, later]]
        assert [c.number for c in again.list_cases(CLERK, q="工商", limit=2)] == [c.number for c in opened[:2]]
    finally:
        again.store.dispose()


def test_a_rename_and_a_transfer_keep_the_search_rows_as_a_rebuild_writes_them(sql_url):
    """``save_case`` takes the search row as it stood from the case row its unit of work read —
    no SELECT of ``case_search`` — and the new names as ``search.changed`` computed them; the
    search rows and the heads it leaves are those a rebuild writes."""
    engine = build_engine(sql_url)
    store = engine.store
    snapshot = ("SELECT case_id, org, item_id, number, rnumber, names FROM case_search ORDER BY case_id",
                "SELECT case_id, head, org, item_id FROM case_heads ORDER BY case_id, head, org")
    try:
        case = engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": "十堰汽配厂", "pledgee": "农业银行"})
        engine.open_case(PLEDGE_ITEM, actor=CLERK, data={"pledgor": "十堰汽配二厂", "pledgee": "建设银行"})
        store.trace = []
        engine.fire(case.id, "accept", actor=CLERK, data={"pledgor": "襄阳汽配厂", "pledgee": "国家开发银行",
                                                         "patent_numbers": "ZL1", "channel": "online"})
        engine.transfer(case.id, "420500", actor=BOSS, reason="管辖")
        trace, store.trace = store.trace, None
        assert [s for s, _ in trace if "case_search" in s and s.lstrip().upper().startswith("SELECT")] == []
        assert sum("UPDATE case_search" in s for s, _ in trace) == 2  # the rename, the transfer
        with store.unit_of_work() as uow:
            kept = [sorted(tuple(r) for r in uow.fetch_all(q)) for q in snapshot]
        assert sql_search.rebuild(store, force=True) == 2
        with store.unit_of_work() as uow:
            assert kept == [sorted(tuple(r) for r in uow.fetch_all(q)) for q in snapshot]
        assert [c.number for c in engine.list_cases(BOSS, q="襄阳", org="420500")] == [case.number]
        assert [c.id for c in engine.list_cases(BOSS, q="十堰")] != [case.id]
        with store.unit_of_work() as uow:  # the number's parts moved with the case (one UPDATE)
            assert {r[1] for r in uow.fetch_all("SELECT case_id, org FROM case_number_parts")
                    if r[0] == case.id} == {"420500"}
        assert sum("UPDATE case_number_parts" in s for s, _ in trace) == 1
        part = case.number.split("-", 1)[1][:11]  # 420100-2026: its number still says Wuhan
        yichang = Actor("yc.clerk", {"clerk"}, org="420500")
        assert [c.id for c in engine.list_cases(yichang, q=part)] == [case.id]
        assert case.id not in [c.id for c in engine.list_cases(CLERK, q=part)]
    finally:
        store.dispose()
