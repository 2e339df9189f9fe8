"""Screenshots of every page at 1366×768, of the worklist and a case on a 390-px phone, and of the
applicant's pages (``/apply``) at 390×844, for the README: ``python -m api.web.screenshots [DIR]``.

Builds a SQLite database in a temporary folder, fills it with demo cases opened in the past
(``api.demo.fill``, then one sweep at the real now: yellow and red on the board), adds people to
the directory, serves the app with uvicorn on 127.0.0.1 (a free port) and drives Debian's
headless Chromium (``/usr/bin/chromium`` and ``/usr/bin/chromedriver``, through Selenium; no
browser is downloaded). Also the helpers the browser tests use: :class:`LiveServer` and
:func:`chromium`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CASECLOCK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CASECLOCK_CHROMEDRIVER", "/usr/bin/chromedriver")
PHONE = (390, 844)
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--lang=zh-CN", "--window-size=1366,768")
WIDTH, HEIGHT = 1366, 768


def browser_missing() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium chromium-driver fonts-noto-cjk)"
    if not Path(CHROMEDRIVER).exists():
        return f"{CHROMEDRIVER} is not installed (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Selenium) with a fresh profile, its viewport exactly 1366×768."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="caseclock-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        viewport(driver)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def viewport(driver: Any, width: int = WIDTH, height: int = HEIGHT) -> None:
    """Set the viewport (a phone below 600 px: mobile metrics)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def sign_in(driver: Any, base: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/web/login")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(driver, lambda d: "/web/login" not in d.current_url
             and d.execute_script("return document.readyState") == "complete")


def sign_out(driver: Any) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, ".who form button").click()
    wait_for(driver, lambda d: "/web/login" in d.current_url)


def wait_for(driver: Any, condition: Any, timeout: float = 15) -> Any:
    """Wait until ``condition(driver)`` holds; elements missing or replaced while the next page
    loads (stale) just mean "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(_navigating(condition))


# ChromeDriver 156 reports an element whose page has just been replaced not always as stale but,
# when the swap falls between its lookup and the call, as an "unknown error" naming the node: the
# same "not yet" while the next page loads (seen in CI on a phone-width walk).
_REPLACED = ("does not belong to the document", "No node with given id", "Cannot find context with specified id")


def _navigating(condition: Any) -> Any:
    from selenium.common.exceptions import WebDriverException

    def check(driver: Any) -> Any:
        try:
            return condition(driver)
        except WebDriverException as exc:
            if type(exc) is WebDriverException and any(m in (exc.msg or "") for m in _REPLACED):
                return False
            raise

    return check


PEOPLE = (
    ("zhang.wei", "张伟", ("clerk",), "420100"),
    ("wang.fang", "王芳", ("examiner",), "420100"),
    ("li.na", "李娜", ("supervisor",), "420100"),
    ("chen.jing", "陈静", ("leader", "admin"), "420000"),
    ("liu.yang", "刘洋", ("clerk",), "420500"),
)
PASSWORD = "Caseclock-2024!"


def demo_stack(folder: Path, count: int = 160) -> tuple[Any, Any, Any]:
    """An engine on SQLite in ``folder`` with demo cases and :data:`PEOPLE`, and its app."""
    from adapters import build_engine
    from adapters.directory import Person
    from adapters.sql import upgrade
    from api import web
    from api.app import create_app
    from api.demo import SimClock, demo_people, fill

    url = f"sqlite:///{folder / 'caseclock.db'}"
    upgrade(url)
    clock = SimClock()
    engine = build_engine(url, now=clock)
    result = fill(engine, clock, count=count, days=40, seed=7)
    app = create_app(engine)
    app.state.demo = result  # the demo's online applications (number, query code)
    if not any(getattr(r, "path", "") == "/web/login" for r in app.routes):
        app.include_router(web.router)
    web.configure(app, web.WebSettings(secret="screenshots-" + "x" * 24, poll_seconds=30))
    accounts = web.accounts_for(engine)
    for person in demo_people(engine.orgs):  # the demo's staff, by name in the histories
        accounts.put(person)
    for pid, name, roles, org in PEOPLE:
        web.add_person(accounts, Person(id=pid, name=name, roles=frozenset(roles), org=org), PASSWORD)
    return engine, app, clock


def take(out: Path, *, count: int = 160) -> list[Path]:
    """Sign in as a clerk and as a leader and save one PNG per page under ``out``."""
    from selenium.webdriver.common.by import By

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="caseclock-shots-") as tmp:
        engine, app, _ = demo_stack(Path(tmp), count=count)
        server = LiveServer(app).start()
        base = server.url
        try:
            with chromium() as d:
                def shot(name: str) -> None:
                    path = out / f"{name}.png"
                    d.save_screenshot(str(path))
                    shots.append(path)

                sign_in(d, base, "zhang.wei", PASSWORD)
                d.get(f"{base}/web/worklist")
                shot("worklist")
                rows = d.find_elements(By.CSS_SELECTOR, "table.cases tbody tr[data-case] a")
                pick = next((a for a in rows if "ZYDJ" in a.text), rows[0] if rows else None)
                if pick is not None:
                    d.get(pick.get_attribute("href"))
                    shot("case")
                d.get(f"{base}/web/cases/new?item=patent_pledge_registration")
                shot("open-case")
                decided = _decided_pledge(engine)
                d.get(f"{base}/web/cases/{decided.id}/documents/decision")
                shot("decision")
                viewport(d, *PHONE)
                d.get(f"{base}/web/worklist")
                shot("worklist-phone")
                d.get(f"{base}/web/cases/{decided.id}")
                shot("case-phone")
                viewport(d)
                d.get(f"{base}/web/definitions/patent_pledge_registration")
                shot("definition")
                sign_out(d)
                shot("sign-in")
                sign_in(d, base, "chen.jing", PASSWORD)
                for name in ("board", "breaches", "charts", "reports", "calendar"):
                    d.get(f"{base}/web/{name}")
                    shot(name)
                d.get(f"{base}/web/breaches")
                first = d.find_elements(By.CSS_SELECTOR, "table.cases tbody tr[data-case] a")
                if first:
                    d.get(first[0].get_attribute("href"))
                    # what the caption names: assign, transfer, correct (below the clocks)
                    d.execute_script("const e = document.getElementById('supervise'); if (e) e.scrollIntoView()")
                    shot("case-supervisor")
                sign_out(d)
                applicant_shots(d, base, engine, app.state.demo.applications, shot)
        finally:
            server.stop()
            dispose = getattr(engine.store, "dispose", None)
            if dispose is not None:
                dispose()
    return shots


def _decided_pledge(engine: Any) -> Any:
    """A Wuhan pledge registered today, with an amount and several patents (for the 决定书)."""
    from workflow.model import Actor

    clerk = Actor(id="zhang.wei", roles={"clerk"}, org="420100", name="张伟")
    case = engine.open_case("patent_pledge_registration", actor=clerk, data={
        "request_type": "registration", "channel": "online", "pledgor": "武汉光谷智能装备有限公司",
        "pledgee": "招商银行股份有限公司武汉分行", "secured_amount": 5_000_000, "patent_count": 3,
        "patent_numbers": "ZL202310000001.X、ZL202310000002.3、ZL202310000003.5"})
    engine.fire(case.id, "accept", actor=clerk)
    return engine.fire(case.id, "approve", actor=Actor(id="wang.fang", roles={"examiner"}, org="420100"),
                       data={"registration_number": "Y2026420000123"})


def applicant_shots(d: Any, base: str, engine: Any, applications: list[tuple[str, str]], shot: Any) -> None:
    """The applicant's pages (/apply) on a 390-px phone screen: the items, the form, a receipt, a
    matter waiting for 补正, and a closed one with its rating and the office's reply."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from adapters.online import OnlineService

    svc = OnlineService(engine)
    waiting = closed = None
    for number, code in applications:
        p = svc.progress(svc.find(number, code))
        if p["status"] == "awaiting_supplement" and waiting is None:
            waiting = (number, code)
        reply = (p["rating"] or {}).get("rectification") or {}
        if p["status"] == "closed" and reply.get("replied") and closed is None:
            closed = (number, code)
    viewport(d, *PHONE)
    try:
        d.get(f"{base}/apply")
        shot("apply-items")
        d.get(f"{base}/apply/items/patent_pledge_registration")
        shot("apply-form")
        for box, text in (("a_name", "武汉东湖光电子有限公司"), ("a_id", "91420100MA4K009999"),
                          ("a_phone", "13800009999"), ("f_pledgor", "武汉东湖光电子有限公司"),
                          ("f_pledgee", "汉口银行光谷支行"), ("f_patent_numbers", "ZL202410000002.X")):
            d.find_element(By.ID, box).send_keys(text)
        Select(d.find_element(By.ID, "org")).select_by_visible_text("武汉市")
        Select(d.find_element(By.ID, "f_request_type")).select_by_visible_text("设立登记")
        with tempfile.TemporaryDirectory(prefix="caseclock-upload-") as tmp:
            pdf = Path(tmp) / "材料.pdf"
            pdf.write_bytes(b"%PDF-1.4\n% screenshot\n")
            for m in d.find_elements(By.CSS_SELECTOR, "input[type=file]"):
                m.send_keys(str(pdf))
            d.find_element(By.ID, "consent").click()
            d.find_element(By.ID, "submit").click()
            wait_for(d, lambda x: "/apply/receipt" in x.current_url)
        shot("apply-receipt")
        for name, pair in (("apply-supplement", waiting), ("apply-rated", closed)):
            if pair is None:
                continue
            d.delete_all_cookies()
            d.get(f"{base}/apply/progress")
            d.find_element(By.ID, "number").send_keys(pair[0])
            d.find_element(By.ID, "code").send_keys(pair[1])
            d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            wait_for(d, lambda x: x.find_elements(By.ID, "status"))
            if name == "apply-rated":
                d.execute_script("document.getElementById('rating').scrollIntoView()")
            shot(name)
    finally:
        viewport(d)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    missing = browser_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 2
    out = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    for p in take(out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
