"""The change feed never misses and never repeats an event while several writer processes commit
(issue 19), on SQLite and PostgreSQL.

Writer processes (real OS processes, ``feed_writer.py``) open and advance cases in Wuhan and in
Yichang; meanwhile a Wuhan follower and a Yichang follower page ``GET /api/changes`` over real
HTTP with small pages. At the end each follower has seen every event of its city exactly once, in
an order consistent with each case's history (seq 1, 2, 3, … per case), and none of the other
city's.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from adapters import build_engine
from adapters.changes import feed_for
from api.app import create_app
from api.auth import issue_token
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.screenshots import LiveServer
from workflow.model import Actor
from workflow.ports import CaseQuery

WRITER = Path(__file__).with_name("feed_writer.py")
ROOT = Path(__file__).resolve().parents[2]
WUHAN, YICHANG = "420100", "420500"


def _writers(url: str, plan: list[tuple[str, int]]) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen([sys.executable, str(WRITER), url, org, str(cases), str(seed)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed, (org, cases) in enumerate(plan, start=1)
    ]


def _follow(client: httpx.Client, cursor: str, seen: list[dict]) -> str:
    """One page (a small limit, so that many pages interleave with the writers' commits)."""
    r = client.get("/api/changes", params={"after": cursor, "limit": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    seen.extend(body["items"])
    if len(body["items"]) == 7:  # a full page resumes right after its last item
        assert body["next"] == body["items"][-1]["cursor"]
    elif body["items"]:  # else after the last position examined (later ones were filtered out)
        assert int(body["next"]) >= int(body["items"][-1]["cursor"])
    assert int(body["next"]) >= int(cursor or 0)
    return body["next"]


def _history(engine, org: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with engine.store.unit_of_work() as uow:
        for rec in uow.query_cases(CaseQuery(orgs=frozenset({org}))):
            out[rec.id] = [e.seq for e in uow.events(rec.id)]
    return out


def _check(seen: list[dict], history: dict[str, list[int]], org: str) -> None:
    keys = [(c["case_id"], c["seq"]) for c in seen]
    assert len(keys) == len(set(keys)), "an event was delivered twice"
    assert {c["org"] for c in seen} <= {org}
    per_case: dict[str, list[int]] = defaultdict(list)
    for c in seen:
        per_case[c["case_id"]].append(c["seq"])
    assert dict(per_case) == history  # every event, each case's in its history's order
    positions = [int(c["cursor"]) for c in seen]
    assert positions == sorted(positions)


def test_followers_see_every_event_once_while_writer_processes_commit(sql_url):
    engine = build_engine(sql_url)
    tokens = tokens_for(engine)
    wuhan, _ = issue_token(tokens, user="wh-follower", roles="supervisor", org=WUHAN, now=engine.now(), orgs=engine.orgs)
    yichang, _ = issue_token(tokens, user="yc-follower", roles="supervisor", org=YICHANG, now=engine.now(), orgs=engine.orgs)
    server = LiveServer(create_app(engine, ApiSettings(metrics=False))).start()
    procs = _writers(sql_url, [(WUHAN, 14), (WUHAN, 14), (WUHAN, 14), (YICHANG, 10)])
    seen_wh: list[dict] = []
    seen_yc: list[dict] = []
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {wuhan}"}, timeout=30) as wh, \
                httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {yichang}"}, timeout=30) as yc:
            at_wh = at_yc = ""
            pages_while_writing = 0
            while any(p.poll() is None for p in procs):
                at_wh = _follow(wh, at_wh, seen_wh)
                at_yc = _follow(yc, at_yc, seen_yc)
                pages_while_writing += 1
            for p in procs:
                out, err = p.communicate(timeout=60)
                assert p.returncode == 0, err
                assert out.startswith("done ")
            for _ in range(1000):  # drain: the writers are done
                before = (len(seen_wh), len(seen_yc))
                at_wh = _follow(wh, at_wh, seen_wh)
                at_yc = _follow(yc, at_yc, seen_yc)
                if (len(seen_wh), len(seen_yc)) == before:
                    break
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()
    assert pages_while_writing > 10  # the followers really paged while the writers committed
    _check(seen_wh, _history(engine, WUHAN), WUHAN)
    _check(seen_yc, _history(engine, YICHANG), YICHANG)
    assert len(seen_wh) == 3 * 14 * 6 and len(seen_yc) == 10 * 6
    # the feed's own view agrees: the unscoped feed holds exactly both cities' events
    assert feed_for(engine.store).head() >= len(seen_wh) + len(seen_yc)
    dispose = getattr(engine.store, "dispose", None)
    if dispose is not None:
        dispose()


def test_an_event_with_a_smaller_id_that_commits_later_is_not_missed(sql_url, monkeypatch):
    """PostgreSQL: a transaction takes its event ids, then waits before its COMMIT while another
    takes larger ids and commits. A follower reading in between sees only the committed one,
    and still gets the late one next (a follower reading by id would have passed it for ever)."""
    import threading

    from adapters.sql.store import SqlUnitOfWork

    if not sql_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a transaction that takes ids commits before the next takes any")
    engine = build_engine(sql_url)
    feed = feed_for(engine.store)
    flushed, release = threading.Event(), threading.Event()
    commit = SqlUnitOfWork.commit

    def slow_commit(self):  # the writer thread named "slow" stops between its inserts and COMMIT
        if threading.current_thread().name == "slow" and self._begun == "write":
            self._flush()
            flushed.set()
            release.wait(30)
        commit(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", slow_commit)
    clerk_wh = Actor("c-wh", {"clerk"}, WUHAN)
    clerk_yc = Actor("c-yc", {"clerk"}, YICHANG)
    slow: list[str] = []
    t = threading.Thread(name="slow", target=lambda: slow.append(
        engine.open_case("patent_pledge_registration", actor=clerk_wh, data={}).id))
    t.start()
    try:
        assert flushed.wait(30)
        fast = engine.open_case("patent_pledge_registration", actor=clerk_yc, data={})
        first = feed.page(0, 100)
        assert [c.case_id for c in first.items] == [fast.id]
    finally:
        release.set()
        t.join(30)
    second = feed.page(first.next, 100)
    assert [c.case_id for c in second.items] == slow
    with engine.store.unit_of_work() as uow:
        ids = dict(uow.fetch_all("SELECT case_id, id FROM events"))
    assert ids[slow[0]] < ids[fast.id]  # the id order was not the commit order
    engine.store.dispose()


def test_a_long_poll_wakes_on_another_process_commit(sql_url):
    """``wait``: the request waits (no thread held) until a writer process commits, on each backend."""
    import threading

    engine = build_engine(sql_url)
    token, _ = issue_token(tokens_for(engine), user="leader", roles="leader", org="420000", now=engine.now(),
                           orgs=engine.orgs)
    server = LiveServer(create_app(engine, ApiSettings(metrics=False))).start()
    answers: list[dict] = []
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=90) as c:
            head = c.get("/api/changes").json()["next"]
            waiter = threading.Thread(target=lambda: answers.append(
                c.get("/api/changes", params={"after": head, "wait": 60, "limit": 1}).json()))
            waiter.start()
            writer = subprocess.run([sys.executable, str(WRITER), sql_url, WUHAN, "1", "5"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
            assert writer.returncode == 0, writer.stderr
            waiter.join(60)
            assert not waiter.is_alive()
    finally:
        server.stop()
        dispose = getattr(engine.store, "dispose", None)
        if dispose is not None:
            dispose()
    assert [c["kind"] for c in answers[0]["items"]] == ["opened"]
