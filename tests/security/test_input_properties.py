"""Issue 14, class 3, the property: random dates, numbers and strings sent to every route and form
that accepts them never meet a 5xx, and after each refusal (4xx) the cases are as they were
(version, state, data, history length; no case more or less).

The routes are not listed by hand: they are read from the app (every API operation with its
path, query and JSON body parameters from the OpenAPI document; every POST route of the pages
and the applicant's pages). Pages' forms are read from the pages themselves (action, inputs and
their CSRF token, after signing in); a page POST route no form reaches is posted to directly. A
new route is therefore covered without touching this file; :func:`test_every_route_is_reached`
fails when one is not.

Deterministic and bounded: hypothesis with ``derandomize=True``, a fixed number of examples per
route (``CASECLOCK_PROPERTY_EXAMPLES``, default 8; docs/reliability.md says how to run more), no
deadline, the engine's clock fixed. In-process (TestClient) on a SQLite file."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import build_engine
from adapters.directory import Person
from api import web
from api.app import create_app
from api.auth import issue_token
from api.demo import SimClock
from api.ratelimit import Rate, RateLimits
from api.settings import ApiSettings
from api.tokens import tokens_for
from api.web.security import hash_password
from workflow.legaltime import TZ
from workflow.model import Actor

EXAMPLES = int(os.environ.get("CASECLOCK_PROPERTY_EXAMPLES", "8"))
PASSWORD = "Property-tests-2026!"
SLOW = 10.0  # seconds: no request here takes a tenth of it (started_on 0001-01-01 took 35)
STAFF_ROLES = "clerk,examiner,supervisor,leader,admin"
NOW = datetime(2024, 3, 5, 10, 0, tzinfo=TZ)
ORG = "420100"
ITEMS = ("patent_pledge_registration", "trademark_pledge_registration", "patent_license_filing",
         "ip_administrative_penalty")
# not value-carrying, or they would end the session every later request needs
SKIPPED = {("POST", "/web/logout"), ("POST", "/apply/signout"), ("GET", "/api/changes")}
SKIPPED_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/web/static", "/metrics")

# --- the values ------------------------------------------------------------------------------------

DATES = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "1899-12-31", "1900-01-01", "2199-12-31", "2200-01-01",
                     "2024-02-30", "2024-03-05", "2023-03-04", "2024-03-06", "20240305", "２０２４-03-05",
                     "2024-03-05T25:00:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                     "-2024-03-05", "2024-3-5"]),
    st.dates().map(lambda d: d.isoformat()),
)
NUMBERS = st.one_of(
    st.sampled_from(["9" * 4300, "1" + "0" * 5000, "1e308", "1.7e308", "-1.7e308", "inf", "-inf", "nan",
                     "NaN", "Infinity", "-1", "-0", "0", "0.1", "1e-400", "٥", "５", "1_000", "0x10",
                     "99999999999999999999"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
STRINGS = st.one_of(
    st.sampled_from(["", " ", "\u00a0", "x" * 10_000, "名" * 5_000, "\x00", "a\x00b", "\x1b[31m红", "\r\n",
                     "٠١٢٣", "５", "../../etc/passwd", "<script>alert(1)</script>", "' OR '1'='1", "%",
                     "\u202e", "\ufeff", "😀" * 100]),
    st.text(max_size=40),
)
TEXT = st.one_of(DATES, NUMBERS, STRINGS)
# JSON bodies also get numbers as numbers, and other types where one kind is expected
JSON_ONLY = st.one_of(
    st.sampled_from([int("9" * 4300), -int("9" * 4300), 1.7e308, -1.7e308, 10**19, -1, 0, 0.5, True, False,
                     None, [], {}, ["2024-03-05"], {"a": [1, {"b": None}]}, [[[[[[[[]]]]]]]]]),
    st.integers(), st.floats(allow_nan=False, allow_infinity=False),
)
JSON_VALUES = st.one_of(TEXT, JSON_ONLY)
FOR_DATES = st.one_of(DATES, DATES, JSON_VALUES)  # a date slot mostly gets dates, extreme ones first
FOR_NUMBERS = st.one_of(NUMBERS, JSON_ONLY, JSON_VALUES)


def _fuzz_for(kind: str) -> st.SearchStrategy[Any]:
    return FOR_DATES if kind == "date" else FOR_NUMBERS if kind in ("integer", "number", "money") else JSON_VALUES


# --- the service -----------------------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient  # the API, as a province-level user holding every staff role
    portal: TestClient  # the API as the province's portal (the applications routes)
    pages: TestClient  # the pages, signed in
    applicant: TestClient  # the applicant's pages
    db: Path
    cases: dict[str, str]  # name → id
    engine: Any
    spec: dict[str, Any]
    reached: set[tuple[str, str]] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)  # data field → its type (date, money …)

    def snapshot(self) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(
                "SELECT id, version, state, data, (SELECT count(*) FROM events e WHERE e.case_id = c.id) "
                "FROM cases c ORDER BY id").fetchall()


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m is not None, html[:300]
    return m.group(1)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("properties")
    db = folder / "caseclock.db"
    clock = SimClock()
    clock.at = NOW
    engine = build_engine(f"sqlite:///{db}", now=clock)
    limits = RateLimits(failures=Rate(per_second=10_000, burst=1_000_000),
                        per_token=Rate(per_second=10_000, burst=1_000_000))
    app = create_app(engine, ApiSettings(rate_limits=limits))
    web.configure(app, web.WebSettings(secret="property-tests-web-secret-0123456789"))
    accounts = web.accounts_for(engine)
    accounts.put(Person(id="fuzzer", name="测试员", roles=frozenset(STAFF_ROLES.split(",")), org="420000"))
    accounts.set_password_hash("fuzzer", hash_password(PASSWORD))
    tokens = tokens_for(engine)
    staff, _ = issue_token(tokens, user="fuzzer", roles=STAFF_ROLES, org="420000", now=engine.now(), orgs=engine.orgs)
    portal, _ = issue_token(tokens, user="portal", roles="portal", org="420000", now=engine.now(), orgs=engine.orgs)
    client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {staff}"})
    portal_client = TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {portal}"})
    pages = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = pages.post("/web/login", data={"user": "fuzzer", "password": PASSWORD, "csrf": _csrf(pages.get("/web/login").text)})
    assert r.status_code == 303, r.text
    applicant = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    cases = _seed(engine)
    spec = client.get("/openapi.json").json()
    yield Service(client=client, portal=portal_client, pages=pages, applicant=applicant, db=db, cases=cases,
                  engine=engine, spec=spec)
    for c in (client, portal_client, pages, applicant):
        c.close()
    engine.store.dispose()


def _seed(engine: Any) -> dict[str, str]:
    clerk = Actor("c", {"clerk", "examiner"}, ORG)
    pledge = {"request_type": "registration", "channel": "online", "pledgor": "甲公司", "pledgee": "乙银行",
              "patent_numbers": "ZL202310000001.X", "patent_count": 1, "secured_amount": 5_000_000}
    tm = {"request_type": "registration", "channel": "paper", "pledgor": "甲公司", "pledgee": "乙银行",
          "trademark_numbers": "12345678"}
    out = {}
    c = engine.open_case("patent_pledge_registration", actor=clerk, data=pledge)
    out["received"] = c.id
    c = engine.open_case("patent_pledge_registration", actor=clerk, data=pledge)
    engine.fire(c.id, "accept", actor=clerk)
    out["under_review"] = c.id
    c = engine.open_case("trademark_pledge_registration", actor=clerk, data=tm)
    engine.fire(c.id, "accept", actor=clerk)
    engine.fire(c.id, "request_supplement", actor=clerk,
                data={"supplement_items": "签章页", "notice_received_on": "2024-03-05"})
    out["supplement"] = c.id
    c = engine.open_case("patent_pledge_registration", actor=clerk, data=pledge)
    engine.fire(c.id, "accept", actor=clerk)
    engine.fire(c.id, "approve", actor=clerk, data={"registration_number": "R-1"})
    out["closed"] = c.id
    for n in range(3):  # a party's period starts from a date given with the next step
        c = engine.open_case("trademark_pledge_registration", actor=clerk, data=tm)
        engine.fire(c.id, "accept", actor=clerk)
        out[f"tm_review_{n}"] = c.id
    return out


# --- building requests -----------------------------------------------------------------------------


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _pick(draw: Any, options: Any) -> Any:
    """One of ``options``, drawn as an index of fixed range: the options depend on the service's
    state (a case's forms change as it moves), and hypothesis needs the same draws to replay."""
    options = list(options)
    return options[draw(st.integers(0, 9_999)) % len(options)]


def _case_of(svc: Service, draw: Any) -> str:
    return _pick(draw, sorted(svc.cases.values()))


def _path_value(svc: Service, name: str, case_id: str, draw: Any) -> str:
    """A path parameter (quoted for the URL): mostly something that exists (so the request goes
    deep), else a fuzz."""
    return quote(_path_raw(svc, name, case_id, draw), safe="")


def _path_raw(svc: Service, name: str, case_id: str, draw: Any) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(STRINGS.filter(lambda s: s and "/" not in s and s not in (".", "..") and "?" not in s
                                   and "#" not in s and "\x00" not in s))[:500]  # a URL under 64 KiB
    case = svc.engine.get_case(case_id)
    defn = svc.engine.definition(case.item_id, case.definition_version)
    if name == "case_id":
        return case_id
    if name == "trigger":
        return _pick(draw, sorted({t.trigger for t in defn.transitions}))
    if name == "clock":
        return _pick(draw, sorted(defn.clocks))
    if name in ("template", "name"):
        return draw(st.sampled_from(["receipt", "supplement_notice", "decision", "acceptance_notice"]))
    if name == "item_id":
        return draw(st.sampled_from(ITEMS))
    if name == "year":
        return draw(st.sampled_from(["2024", "2025", "0", "99999", "٢٠٢٤"]))
    if name == "fmt":
        return draw(st.sampled_from(["csv", "xlsx", "pdf"]))
    return draw(STRINGS.filter(lambda s: s and "/" not in s and s not in (".", "..")
                               and "?" not in s and "#" not in s))[:500]


def _base_value(spec: dict[str, Any], name: str, schema: dict[str, Any]) -> Any:
    schema = _resolve(spec, schema)
    for alt in schema.get("anyOf", []):
        alt = _resolve(spec, alt)
        if alt.get("type") != "null":
            schema = alt
            break
    if "examples" in schema and schema["examples"]:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "date":
        return "2024-03-04"
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if name in ("reason", "supplement_items"):
        return "测试"
    if name == "org":
        return ORG
    return "x"


def _data_for(svc: Service, case_id: str, trigger: str | None, item_id: str | None) -> dict[str, Any]:
    """Plausible data for a transition (its fields) or an opening (the item's fields)."""
    if trigger is not None:
        case = svc.engine.get_case(case_id)
        defn = svc.engine.definition(case.item_id, case.definition_version)
        fields = next((t.fields for t in defn.transitions if t.trigger == trigger), ())
    else:
        defn = svc.engine.definition(item_id or ITEMS[0])
        fields = defn.fields
    data: dict[str, Any] = {}
    svc.kinds.update({f.name: f.type for f in fields})
    for f in fields:
        data[f.name] = {"date": "2024-03-04", "integer": 1, "number": 1, "money": 100, "boolean": False,
                        "choice": (f.choices[0] if f.choices else "x")}.get(f.type, "测试")
    return data


def _api_request(svc: Service, method: str, path: str, draw: Any) -> tuple[TestClient, str, dict[str, Any], str]:
    op = svc.spec["paths"][path][method.lower()]
    case_id = _case_of(svc, draw)
    params: dict[str, Any] = {}
    url = path
    slots: list[tuple[str, str]] = []  # (where, name) that may carry a fuzzed value
    for p in op.get("parameters", []):
        p = _resolve(svc.spec, p)
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", _path_value(svc, p["name"], case_id, draw))
        elif p["in"] == "query":
            slots.append(("query", p["name"]))
            if p.get("required"):
                params[p["name"]] = _base_value(svc.spec, p["name"], p.get("schema", {}))
    body: Any = None
    content = (op.get("requestBody") or {}).get("content", {})
    if "application/json" in content:
        schema = _resolve(svc.spec, content["application/json"]["schema"])
        body = {k: _base_value(svc.spec, k, v) for k, v in schema.get("properties", {}).items()
                if k in schema.get("required", []) or draw(st.booleans())}
        slots += [("body", k) for k in schema.get("properties", {})]
        if path == "/api/cases" and method == "POST":  # an item that exists: the request goes deep
            body["item_id"] = draw(st.sampled_from(ITEMS))
        if "data" in schema.get("properties", {}):
            trigger = url.rsplit("/", 1)[-1] if "/transitions/" in url else None
            item = body.get("item_id") if isinstance(body.get("item_id"), str) else None
            body["data"] = _data_for(svc, case_id, trigger, item)
            slots += [("data", k) for k in body["data"]]
            if "/transitions/" in url and not body["data"]:
                slots.append(("data", draw(st.sampled_from(["notice_received_on", "amount", "reason"]))))
    elif "multipart/form-data" in content:
        slots.append(("form", "note"))
    for _ in range(draw(st.integers(1, 3))):  # one to three values fuzzed
        if not slots:
            break
        where, name = _pick(draw, slots)
        if where == "query":
            params[name] = draw(TEXT)[:1500]  # a URL stays under httpx's 64 KiB (servers stop at 8)
        elif where == "body":
            prop = _resolve(svc.spec, schema["properties"][name])
            kind = "date" if "date" in json.dumps(prop) else "integer" if '"integer"' in json.dumps(prop) else ""
            body[name] = draw(_fuzz_for(kind))
        elif where == "data" and isinstance(body.get("data"), dict):
            body["data"][name] = draw(_fuzz_for(svc.kinds.get(name, "")))
    client = svc.portal if path.startswith("/api/applications") else svc.client
    kwargs: dict[str, Any] = {"params": params}
    if body is not None:
        kwargs["content"] = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
        kwargs["headers"] = {"Content-Type": "application/json"}
    if "multipart/form-data" in content:
        kwargs["files"] = {"file": ("a.pdf", b"%PDF-1.4\n%fuzz\n", "application/pdf")}
        kwargs["data"] = {"note": draw(TEXT)}
    return client, url, kwargs, case_id


# --- the pages' forms ------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    selects: dict[str, list[str]]
    multipart: bool


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.forms.append(Form(a.get("action", ""), {}, {}, "multipart" in a.get("enctype", "")))
        elif not self.forms:
            return
        elif tag in ("input", "textarea") and a.get("name") and a.get("type") not in ("file", "submit"):
            if a.get("type") in ("radio", "checkbox") and a["name"] in self.forms[-1].fields:
                return
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1].selects[a["name"]] = []
            self.forms[-1].fields[a["name"]] = ""
        elif tag == "option" and self._select:
            self.forms[-1].selects[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _forms(client: TestClient, page: str) -> list[Form]:
    r = client.get(page)
    if r.status_code != 200:
        return []
    parser = _Forms()
    parser.feed(r.text)
    out = []
    for f in parser.forms:
        for name, options in f.selects.items():
            f.fields[name] = next((o for o in options if o), "")
        out.append(f)
    return out


def _page_forms(svc: Service, case_id: str) -> list[tuple[TestClient, Form]]:
    found = [(svc.pages, f) for f in _forms(svc.pages, f"/web/cases/{case_id}")]
    found += [(svc.pages, f) for item in ITEMS[:2] for f in _forms(svc.pages, f"/web/cases/new?item={item}")]
    found += [(svc.pages, f) for p in ("/web/calendar", "/web/reports") for f in _forms(svc.pages, p)]
    found += [(svc.applicant, f) for p in ("/apply/items/patent_pledge_registration", "/apply/progress")
              for f in _forms(svc.applicant, p)]
    return found


def _route_of(action: str) -> str:
    path = action.split("?")[0]
    return path


def _form_request(svc: Service, draw: Any, only: str) -> tuple[TestClient, str, dict[str, Any], str] | None:
    """A form a page offers for the route ``only``, one to three of its values fuzzed (the draws
    are the same whatever the pages offer: hypothesis replays them); None when no page offers one
    now (the case moved on)."""
    case_id = _case_of(svc, draw)
    which = draw(st.integers(0, 9_999))
    count = draw(st.integers(1, 3))
    picks = [(draw(st.integers(0, 9_999)), draw(TEXT)) for _ in range(count)]
    extra = draw(st.integers(0, 4)) == 0
    extra_name = draw(st.sampled_from(["started_on", "version", "f_amount", "year", "month"]))
    extra_value = draw(TEXT)
    forms = [(c, f) for c, f in _page_forms(svc, case_id) if _matches(only, _route_of(f.action))]
    if not forms:
        return None
    client, form = forms[which % len(forms)]
    data = dict(form.fields)
    names = sorted(k for k in data if k != "csrf")
    for index, value in picks if names else ():
        data[names[index % len(names)]] = value
    if extra:  # a field the form does not have
        data[extra_name] = extra_value
    kwargs: dict[str, Any] = {"data": data}
    if form.multipart:
        kwargs["files"] = {"file": ("a.pdf", b"%PDF-1.4\n%fuzz\n", "application/pdf")}
    return client, form.action, kwargs, case_id


def _matches(route: str, path: str) -> bool:
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "$"
    return re.match(pattern, path) is not None


def _direct_form(svc: Service, route: str, draw: Any) -> tuple[TestClient, str, dict[str, Any], str]:
    """A page POST route no form reached: posted to with the session's CSRF token and fuzz."""
    case_id = _case_of(svc, draw)
    client = svc.applicant if route.startswith("/apply") else svc.pages
    page = client.get("/apply/progress" if route.startswith("/apply") else "/web/worklist")
    url = re.sub(r"\{([^}]+)\}", lambda m: _path_value(svc, m.group(1), case_id, draw), route)
    data = {"csrf": _csrf(page.text)}
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.sampled_from(["reason", "version", "started_on", "year", "number", "code", "grade",
                                   "org", "assignee", "note", "confirm"]))] = draw(TEXT)
    return client, url, {"data": data}, case_id


# --- the routes ------------------------------------------------------------------------------------


def _routes(app: Any) -> list[tuple[str, str, bool]]:
    """(method, path, in the OpenAPI document) of every route of the app, however nested."""
    out: list[tuple[str, str, bool]] = []

    def walk(routes: Any) -> None:
        for r in routes:
            inner = getattr(r, "original_router", None)
            if inner is not None:
                walk(inner.routes)
                continue
            path = getattr(r, "path", None)
            for m in sorted(getattr(r, "methods", None) or ()):
                if m == "HEAD" or path is None or path.startswith(SKIPPED_PREFIXES) or (m, path) in SKIPPED:
                    continue
                out.append((m, path, bool(getattr(r, "include_in_schema", False))))

    walk(app.routes)
    return sorted(set(out))


def _all_routes() -> list[tuple[str, str, bool]]:
    engine = build_engine("memory://")
    return _routes(create_app(engine))


ROUTES = _all_routes()
API = [(m, p) for m, p, in_schema in ROUTES if in_schema and p.startswith("/api")]
PAGE_POSTS = [(m, p) for m, p, in_schema in ROUTES if not in_schema and m == "POST"]
PAGE_GETS = [(m, p) for m, p, in_schema in ROUTES if not in_schema and m == "GET"]


def _check(svc: Service, client: TestClient, method: str, url: str, kwargs: dict[str, Any]) -> None:
    before = svc.snapshot()
    t0 = time.monotonic()
    r = client.request(method, url, **kwargs)
    took = time.monotonic() - t0
    assert took < SLOW, (method, url, str(kwargs)[:300], f"{took:.1f} s: the cost grew with a value")
    STATUSES[(method, _route_label(url), r.status_code)] += 1
    assert r.status_code < 500, (method, url, kwargs.get("params"), str(kwargs.get("data") or kwargs.get("content"))[:500],
                                 r.status_code, r.text[:500])
    if 400 <= r.status_code < 500:
        after = svc.snapshot()
        assert after == before, (method, url, r.status_code, r.text[:300], "a refusal changed a case")


STATUSES: Counter[tuple[str, str, int]] = Counter()


def _route_label(url: str) -> str:
    return re.sub(r"/[0-9a-f]{32}", "/{id}", url.split("?")[0])[:60]


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


Request = tuple[TestClient, str, dict[str, Any]]


def _hold(service: Service, method: str, path: str, build: Any) -> None:
    """The properties for one route: ``build(draw)`` makes a request (client, url, kwargs)."""
    service.reached.add((method, path))

    @SETTINGS
    @given(st.data())
    def run(data: Any) -> None:
        client, url, kwargs = build(data.draw)
        _check(service, client, method, url, kwargs)

    run()


@pytest.mark.parametrize(("method", "path"), API, ids=[f"{m} {p}" for m, p in API])
def test_api_operations(service: Service, method: str, path: str) -> None:
    def build(draw: Any) -> Request:
        return _api_request(service, method, path, draw)[:3]

    _hold(service, method, path, build)


@pytest.mark.parametrize(("method", "path"), PAGE_POSTS, ids=[f"{m} {p}" for m, p in PAGE_POSTS])
def test_page_forms(service: Service, method: str, path: str) -> None:
    has_form = any(_matches(path, _route_of(f.action))
                   for _, f in _page_forms(service, service.cases["under_review"]) +
                   _page_forms(service, service.cases["supplement"]))

    def build(draw: Any) -> Request:
        request = _form_request(service, draw, only=path) if has_form and draw(st.integers(0, 3)) else None
        return (request or _direct_form(service, path, draw))[:3]

    _hold(service, method, path, build)


@pytest.mark.parametrize(("method", "path"), PAGE_GETS, ids=[f"{m} {p}" for m, p in PAGE_GETS])
def test_page_queries(service: Service, method: str, path: str) -> None:
    """Pages read their query string too (month, q, p, item, format …)."""
    def build(draw: Any) -> Request:
        case_id = _case_of(service, draw)
        url = re.sub(r"\{([^}]+)\}", lambda m: _path_value(service, m.group(1), case_id, draw), path)
        params = {draw(st.sampled_from(["month", "q", "p", "after", "item", "format", "sheet", "fresh",
                                        "number", "done", "next", "org", "state"])): draw(TEXT)[:1500]
                  for _ in range(draw(st.integers(1, 3)))}
        return (service.applicant if path.startswith("/apply") else service.pages), url, {"params": params}

    _hold(service, method, path, build)


EXTREMES = ("0001-01-01", "9999-12-31", "1900-01-01", "2199-12-31")


def test_extreme_dates_in_every_date_field(service: Service) -> None:
    """Beside the random examples, a sweep with no chance in it: each extreme date in every date
    a step takes (each case, each step it offers now, through the API and through the case page's
    form) and in the opening's legal start. (On the old code 9999-12-31 as the day a notice was
    received was a 500, and 0001-01-01 as the legal start took 35 s.)"""
    svc, engine = service, service.engine
    for _name, case_id in sorted(svc.cases.items()):
        case = engine.get_case(case_id)
        defn = engine.definition(case.item_id, case.definition_version)
        offered = engine.available_triggers(case_id, actor=Actor("fuzzer", set(STAFF_ROLES.split(",")), "420000"))
        for t in defn.transitions:
            if t.trigger not in offered:
                continue
            dates = [f.name for f in t.fields if f.type == "date"]
            for field_name in dates:
                for day in EXTREMES:
                    data = {**_data_for(svc, case_id, t.trigger, None), field_name: day}
                    url = f"/api/cases/{case_id}/transitions/{t.trigger}"
                    _check(svc, svc.client, "POST", url, {"json": {"data": data}})
                    if engine.get_case(case_id).state != case.state:  # it went through: put it back
                        engine.correct(case_id, actor=Actor("fuzzer", {"supervisor"}, "420000"), reason="探测后复原")
                    form = next((f for f in _forms(svc.pages, f"/web/cases/{case_id}")
                                 if f.action.endswith(f"/fire/{t.trigger}")), None)
                    if form is not None:
                        fields = {**form.fields, **{f"f_{k}": str(v) for k, v in data.items()}, "confirm": "yes"}
                        _check(svc, svc.pages, "POST", form.action, {"data": fields})
                        if engine.get_case(case_id).state != case.state:
                            engine.correct(case_id, actor=Actor("fuzzer", {"supervisor"}, "420000"), reason="探测后复原")
    for item in ITEMS:
        for day in EXTREMES:
            body = {"item_id": item, "data": _data_for(svc, "", None, item), "started_on": day, "reason": "邮寄"}
            _check(svc, svc.client, "POST", "/api/cases", {"json": body})


def test_every_route_is_reached(service: Service) -> None:
    """Runs last in this file: every route of the app met the properties above."""
    if not service.reached:
        pytest.skip("meaningful only after the rest of this file")
    if os.environ.get("CASECLOCK_PROPERTY_REPORT"):
        for key, n in sorted(STATUSES.items()):
            print(n, *key)
    missing = [r for r in API + PAGE_POSTS + PAGE_GETS if r not in service.reached]
    assert not missing, missing
    assert len(API) >= 30 and len(PAGE_POSTS) >= 15  # the enumeration found the app's routes
