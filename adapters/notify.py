"""Notifiers and the outbox delivery ("有呼必应、无事不扰": the right people, once).

The engine writes an outbox row in the same transaction as the escalation it reports; delivery
happens afterwards, outside any clerk's or sweep's transaction, at least once:

1. claim a batch of due rows (``uow.claim_outbox``; PostgreSQL: SKIP LOCKED) and lease them for a
   few minutes (``next_attempt_at``), then commit: no database lock is held while sending;
2. resolve each row's ``audience`` against the directory of people and drop the people already
   told the same thing (person + case + clock + run + level);
3. hand the row to each notifier that has not yet succeeded for it;
4. record the outcome: ``delivered``; or ``attempts + 1`` and a retry after an exponential backoff;
   or, after ``max_attempts``, ``dead`` (dead-lettered, visible with ``uow.list_outbox("dead")``).

A process that dies between 1 and 4 leaves the lease to run out: the row is sent again (at least
once). Receivers dedupe on the delivery id the webhook sends (``X-Caseclock-Delivery``).

Integrators add their own channel (an office IM, SMS) by writing a class with a ``name`` and a
``send(message, recipients)`` method (:class:`Notifier`) and passing it to :class:`OutboxDelivery`.
``send`` raises to have the message retried; it must not block for long (use timeouts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from workflow.legaltime import TZ
from workflow.model import OutboxMessage
from workflow.orgs import OrgTree
from workflow.ports import IdempotencyRecord, Store, UnitOfWork
from workflow.special import OVERRUN_LABEL

from .directory import Directory, Person, resolve

log = logging.getLogger("caseclock.notify")

LEVEL_NAMES = {
    "warning": "即将超过承诺时限（黄色预警）",
    "overdue": "已超过承诺时限（红色预警）",
    "over_statutory": "已超过法定时限",
    "expired": "期限已届满",
    "deemed_accepted": "逾期未一次性告知，已视为自收到申请材料之日起受理",
    "overrun": "特别程序已超出预计期限（办理期限仍暂停计算）",
}
LEVEL_SHORT = {"warning": "预警", "overdue": "超承诺时限", "over_statutory": "超法定时限", "expired": "期限届满",
               "deemed_accepted": "视为受理", "overrun": OVERRUN_LABEL}


@runtime_checkable
class Notifier(Protocol):
    """A delivery channel. ``name`` identifies it in the outbox ledger (keep it stable).

    ``send`` delivers one outbox message to the resolved recipients (each a
    :class:`~adapters.directory.Person` with ``contacts``). Raise any exception to have the
    message retried with backoff; return normally when it was handed over. A channel that has
    no address for any recipient returns without doing anything.
    """

    name: str

    def send(self, message: OutboxMessage, recipients: Sequence[Person]) -> None: ...


# --- rendering ------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    return str(value)


def render(message: OutboxMessage) -> tuple[str, str]:
    """A Chinese subject and body for a message (the same text every channel uses)."""
    p = message.payload
    if message.topic == "applicant_notice":  # what the applicant is told (adapters/online.py)
        return str(p.get("subject") or ""), str(p.get("text") or "")
    if message.topic == "digest":
        items = p.get("items") or []
        lines = [f"{p.get('date', '')} 待办提醒：您有 {len(items)} 件案件需要关注。"]
        for it in items:
            lines.append(
                f"- {it.get('number', '')} {it.get('item_name', '')}（{it.get('state_label', '')}）："
                f"{LEVEL_SHORT.get(it.get('sla', ''), it.get('sla', ''))}"
                + (f"，期限 {it['due']}" if it.get("due") else "")
            )
        return f"【caseclock】每日待办（{len(items)} 件）", "\n".join(lines)
    if message.topic == "expiry_pending_calendar":
        return _render_pending_expiry(message)
    if message.topic == "order_overdue":
        return _render_order_overdue(message)
    if message.topic == "reminder":
        return _render_reminder(message)
    level = str(p.get("level", ""))
    number = p.get("number") or message.case_id
    subject = f"【{LEVEL_SHORT.get(level, level)}】{number} {p.get('item_name', '')}"
    body = (
        f"{_case_head(p, number)}的{p.get('clock_label', p.get('clock', ''))}{LEVEL_NAMES.get(level, level)}。\n"
        f"到期时间：{_fmt(p.get('due', ''))}；系统发现时间：{_fmt(p.get('seen', ''))}。"
    )
    return subject, body


def _case_head(p: Mapping[str, Any], number: Any) -> str:
    """案件 <number>（<item>，当前环节：<state>）: how every message names its case."""
    return f"案件 {number}（{p.get('item_name', '')}，当前环节：{p.get('state_label', p.get('state', ''))}）"


def _render_reminder(message: OutboxMessage) -> tuple[str, str]:
    """The office's reminder while a case is overdue (escalation ladder, workflow/ladder.py):
    once a working day, at the time the ladder sets."""
    p = message.payload
    number = p.get("number") or message.case_id
    of = str(p.get("reminder_of", ""))
    subject = f"【催办】{number} {p.get('item_name', '')}"
    body = (
        f"{_case_head(p, number)}的{p.get('clock_label', p.get('clock', ''))}{LEVEL_NAMES.get(of, of)}，"
        f"尚未办结，请尽快办理。\n（本局升级规则：每个工作日提醒一次；本次提醒日 {p.get('day', '')}，"
        f"系统发送时间：{_fmt(p.get('seen', ''))}。）"
    )
    return subject, body


def _render_order_overdue(message: OutboxMessage) -> tuple[str, str]:
    """A supervision order (督办) unanswered past its reply deadline: the leaders are told once."""
    p = message.payload
    number = p.get("number") or message.case_id
    subject = f"【督办逾期未答复】{number} {p.get('item_name', '')}"
    body = (
        f"{_case_head(p, number)}的督办已过答复期限（{p.get('order_due', '')}）仍未答复。\n"
        f"督办事由：{p.get('reason', '')}\n要求：{p.get('action', '')}\n"
        f"系统发现时间：{_fmt(p.get('seen', ''))}。"
    )
    return subject, body


def _render_pending_expiry(message: OutboxMessage) -> tuple[str, str]:
    """A party's period ran out on a provisional last day: the automatic step waits (rule 10)."""
    p = message.payload
    number = p.get("number") or message.case_id
    last_day = str(p.get("last_day") or "")
    year = last_day[:4] or "该"
    subject = f"【期间届满待确认】{number} {p.get('item_name', '')}"
    body = (
        f"{_case_head(p, number)}的{p.get('clock_label', p.get('clock', ''))}已届满，但最后一日 {last_day}（暂定）所在的"
        f"{year}年节假日安排尚未载入，系统未自动执行「{p.get('on_expire_label', p.get('on_expire', ''))}」。\n"
        f"载入{year}年国务院办公厅通知后，期间最后一日确已届满的，系统将自动执行；如需现在执行，"
        f"请在案件页面填写理由并确认期间届满。发现时间：{_fmt(p.get('seen', ''))}。"
    )
    return subject, body


def message_document(message: OutboxMessage, recipients: Sequence[Person]) -> dict[str, Any]:
    """The JSON a webhook receives (documented in docs/escalation.md)."""
    subject, body = render(message)
    return {
        "delivery_id": message.id,
        "topic": message.topic,
        "case_id": message.case_id,
        "subject": subject,
        "text": body,
        "payload": message.payload,
        "recipients": [
            {"id": r.id, "name": r.name, "org": r.org, "roles": sorted(r.roles), "contacts": dict(r.contacts)}
            for r in recipients
        ],
        "created_at": message.created_at.isoformat(),
    }


# --- notifiers --------------------------------------------------------------------------------------


class LogNotifier:
    """Writes each message to the ``caseclock.notify`` logger (and keeps the last ones, for tests
    and for a quick look)."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None, keep: int = 1000) -> None:
        self.logger = logger or log
        self.keep = keep
        self.sent: list[tuple[OutboxMessage, list[str]]] = []

    def send(self, message: OutboxMessage, recipients: Sequence[Person]) -> None:
        subject, body = render(message)
        ids = [r.id for r in recipients]
        self.logger.info("notify %s → %s: %s | %s", message.id, ",".join(ids), subject, body)
        self.sent.append((message, ids))
        del self.sent[: -self.keep]


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str | bytes, timestamp: str, body: bytes, signature: str, *,
           tolerance: float | None = 300.0, now: float | None = None) -> bool:
    """Receiver side: check a signature (constant time) and, with ``tolerance``, its freshness."""
    if tolerance is not None:
        try:
            age = abs((now if now is not None else time.time()) - float(timestamp))
        except ValueError:
            return False
        if age > tolerance:
            return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookError(Exception):
    pass


class WebhookNotifier:
    """POSTs the message as JSON (UTF-8), signed with HMAC-SHA256.

    With ``url`` every message goes once to that address (an office gateway fans it out to the
    recipients it lists); without it, to each recipient's own ``webhook`` contact. Headers:
    ``X-Caseclock-Signature: sha256=<hex>`` over ``<timestamp>.<body>``,
    ``X-Caseclock-Timestamp`` (Unix seconds), ``X-Caseclock-Delivery`` (the outbox id: dedupe on
    it) and ``X-Caseclock-Topic``. Any non-2xx answer, a timeout or a refused connection raises.
    """

    name = "webhook"

    def __init__(self, url: str | None = None, *, secret: str | bytes = "", timeout: float = 5.0,
                 headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.headers = dict(headers or {})

    def send(self, message: OutboxMessage, recipients: Sequence[Person]) -> None:
        if self.url:
            self._post(self.url, message, recipients)
            return
        failures = []
        for r in recipients:
            if r.webhook:
                try:
                    self._post(r.webhook, message, [r])
                except WebhookError as exc:
                    failures.append(f"{r.id}: {exc}")
        if failures:
            raise WebhookError("; ".join(failures))

    def _post(self, url: str, message: OutboxMessage, recipients: Sequence[Person]) -> None:
        body = json.dumps(message_document(message, recipients), ensure_ascii=False, default=str).encode("utf-8")
        post_signed(url, body, secret=self.secret, delivery=message.id, topic=message.topic,
                    timeout=self.timeout, headers=self.headers)


def post_signed(url: str, body: bytes, *, secret: str | bytes, delivery: Any, topic: str,
                timeout: float = 5.0, headers: Mapping[str, str] | None = None) -> None:
    """POST a JSON body with the webhook headers, signed with ``secret`` (none when empty):
    ``X-Caseclock-Signature: sha256=<hex>`` over ``<timestamp>.<body>``, ``X-Caseclock-Timestamp``
    (Unix seconds), ``X-Caseclock-Delivery``, ``X-Caseclock-Topic``. A non-2xx answer, a timeout
    or a refused connection raises :class:`WebhookError`."""
    ts = str(int(time.time()))
    sent = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "caseclock-webhook/1",
        "X-Caseclock-Timestamp": ts,
        "X-Caseclock-Delivery": str(delivery),
        "X-Caseclock-Topic": topic,
        **dict(headers or {}),
    }
    if secret:
        sent["X-Caseclock-Signature"] = sign(secret, ts, body)
    req = urllib.request.Request(url, data=body, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URL
            status = resp.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"{url}: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"{url}: HTTP {status}")


class SmtpNotifier:
    """Sends one e-mail per message to the recipients that have an ``email`` contact."""

    name = "email"

    def __init__(self, host: str = "127.0.0.1", port: int = 25, *, sender: str = "caseclock@localhost",
                 username: str | None = None, password: str | None = None, starttls: bool = False,
                 ssl: bool = False, timeout: float = 10.0) -> None:
        self.host, self.port = host, port
        self.sender = sender
        self.username, self.password = username, password
        self.starttls, self.ssl = starttls, ssl
        self.timeout = timeout

    def send(self, message: OutboxMessage, recipients: Sequence[Person]) -> None:
        to = [r.email for r in recipients if r.email]
        if not to:
            return
        subject, body = render(message)
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(to)
        mail["X-Caseclock-Delivery"] = str(message.id)
        mail.set_content(body)
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail, from_addr=self.sender, to_addrs=to)


# --- the ledger: who was told what (kept in the store's key table) ---------------------------------


def told_key(person_id: str, payload: Mapping[str, Any], case_id: str) -> str | None:
    """The "same thing" a person must not hear twice: person + case + clock + run + level."""
    if "level" not in payload or "clock" not in payload:
        return None
    return f"told:{person_id}:{case_id}:{payload['clock']}:{payload.get('run', 1)}:{payload['level']}"


def _sent_key(message_id: int | None, notifier: str) -> str:
    return f"sent:{message_id}:{notifier}"


def _ledger_has(uow: UnitOfWork, key: str) -> bool:
    return uow.get_idempotency(key) is not None


def _ledger_put(uow: UnitOfWork, key: str, case_id: str, now: datetime, note: Mapping[str, Any]) -> None:
    if uow.get_idempotency(key) is None:
        uow.put_idempotency(IdempotencyRecord(key, "ledger", case_id, dict(note), now))


# --- delivery -------------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    delivered: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)

    def __add__(self, other: DeliveryResult) -> DeliveryResult:
        return DeliveryResult(self.delivered + other.delivered, self.retried + other.retried, self.dead + other.dead)

    @property
    def handled(self) -> int:
        return len(self.delivered) + len(self.retried) + len(self.dead)


@dataclass
class _Job:
    message: OutboxMessage
    recipients: list[Person]
    pending_notifiers: list[Notifier]
    skipped: list[str]  # people already told
    errors: list[str] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)
    direct: bool = False  # a topic a notifier delivers itself (no audience: e.g. change webhooks)


def _topics(notifier: Notifier) -> tuple[str, ...]:
    """The topics a notifier delivers on its own, to its own addresses (``topics``); messages of
    those topics skip the directory and go to those notifiers only. Others take the rest."""
    return tuple(getattr(notifier, "topics", ()) or ())


def _default_now() -> datetime:
    return datetime.now(TZ)


class OutboxDelivery:
    """Delivers the outbox at least once, with exponential backoff, then dead-letters.

    ``backoff`` is the first wait; each failure doubles it up to ``backoff_max``; after
    ``max_attempts`` failed attempts the row is ``dead``. ``lease`` is how long a claimed row is
    reserved for this process while it sends.
    """

    def __init__(
        self,
        store: Store,
        directory: Directory,
        notifiers: Iterable[Notifier],
        *,
        orgs: OrgTree | None = None,
        now: Callable[[], datetime] | None = None,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=30),
        backoff_max: timedelta = timedelta(hours=6),
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
    ) -> None:
        self.store = store
        self.directory = directory
        self.notifiers = list(notifiers)
        names = [n.name for n in self.notifiers]
        if len(set(names)) != len(names):
            raise ValueError(f"notifier names must be unique, got {names}")
        self.orgs = orgs
        self._now = now or _default_now
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.lease = lease
        self.batch = batch

    def now(self) -> datetime:
        t = self._now()
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZoneInfo("UTC"))
        return t.astimezone(TZ)

    def next_delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure: backoff × 2^(attempts-1), capped."""
        delay = self.backoff * (2 ** max(0, attempts - 1))
        return min(delay, self.backoff_max)

    def run(self, max_rounds: int = 1000) -> DeliveryResult:
        """Deliver until nothing is due (bounded)."""
        total = DeliveryResult()
        for _ in range(max_rounds):
            got = self.run_once()
            total = total + got
            if got.handled < self.batch:
                break
        return total

    def run_once(self) -> DeliveryResult:
        now = self.now()
        jobs = self._claim(now)
        for job in jobs:
            self._send(job)
        return self._record(jobs, self.now())

    # 1. claim and lease (one short write transaction), then resolve and drop the already told
    # (reads only: the directory may share the database, and SQLite has one writer)
    def _claim(self, now: datetime) -> list[_Job]:
        with self.store.unit_of_work() as uow:
            claimed = uow.claim_outbox(now, self.batch)
            for m in claimed:
                m.next_attempt_at = now + self.lease
                uow.update_outbox(m)
            uow.commit()
        if not claimed:
            return []
        direct = {m.id: [n for n in self.notifiers if m.topic in _topics(n)] for m in claimed}
        people = {m.id: resolve(self.directory, m.payload.get("audience") or [], self.orgs)
                  for m in claimed if not direct[m.id]}
        jobs: list[_Job] = []
        with self.store.unit_of_work() as uow:
            for m in claimed:
                if direct[m.id]:
                    pending = [n for n in direct[m.id] if not _ledger_has(uow, _sent_key(m.id, n.name))]
                    jobs.append(_Job(m, [], pending, [], direct=True))
                    continue
                fresh: list[Person] = []
                skipped: list[Person] = []
                for p in people[m.id]:
                    key = told_key(p.id, m.payload, m.case_id)
                    (skipped if key and _ledger_has(uow, key) else fresh).append(p)
                pending = [n for n in self.notifiers
                           if not _topics(n) and not _ledger_has(uow, _sent_key(m.id, n.name))]
                jobs.append(_Job(m, fresh, pending, [p.id for p in skipped]))
        return jobs

    # 2. send, outside any transaction
    def _send(self, job: _Job) -> None:
        if not job.recipients and not job.direct:
            return
        for n in job.pending_notifiers:
            try:
                n.send(job.message, job.recipients)
                job.succeeded.append(n.name)
            except Exception as exc:  # noqa: BLE001 - any failure of a channel is retried
                job.errors.append(f"{n.name}: {type(exc).__name__}: {exc}"[:500])
                log.warning("delivery of outbox %s via %s failed: %s", job.message.id, n.name, exc)

    # 3. record outcomes
    def _record(self, jobs: Sequence[_Job], now: datetime) -> DeliveryResult:
        result = DeliveryResult()
        if not jobs:
            return result
        with self.store.unit_of_work() as uow:
            for job in jobs:
                m = job.message
                m.attempts += 1
                audience = m.payload.get("audience") or []
                if not job.direct and not job.recipients and not job.skipped:
                    m.state = "dead"
                    m.last_error = f"nobody in the directory for {json.dumps(audience, ensure_ascii=False)}"
                    m.next_attempt_at = None
                    result.dead.append(m.id or 0)
                    uow.update_outbox(m)
                    continue
                for name in job.succeeded:
                    _ledger_put(uow, _sent_key(m.id, name), m.case_id, now, {"outbox": m.id})
                if not job.errors:
                    for p in job.recipients:
                        key = told_key(p.id, m.payload, m.case_id)
                        if key:
                            _ledger_put(uow, key, m.case_id, now, {"outbox": m.id})
                    m.state, m.last_error, m.next_attempt_at = "delivered", None, None
                    result.delivered.append(m.id or 0)
                elif m.attempts >= self.max_attempts:
                    m.state, m.last_error, m.next_attempt_at = "dead", "; ".join(job.errors), None
                    result.dead.append(m.id or 0)
                    log.error("outbox %s dead-lettered after %s attempts: %s", m.id, m.attempts, m.last_error)
                else:
                    m.last_error = "; ".join(job.errors)
                    m.next_attempt_at = now + self.next_delay(m.attempts)
                    result.retried.append(m.id or 0)
                uow.update_outbox(m)
            uow.commit()
        return result


# --- the daily digest ----------------------------------------------------------------------------


class DailyDigest:
    """Once a day, one message per person listing the open cases that need them (warning and
    worse, by the escalation ladder). Nobody gets an empty digest; nothing is queued when there
    is nothing to say; a second run the same day queues nothing new."""

    def __init__(self, engine: Any, directory: Directory, *, levels: Iterable[str] = ("warning", "overdue", "over_statutory", "expired")) -> None:
        self.engine = engine
        self.directory = directory
        self.levels = tuple(levels)

    def build(self, day: date | None = None) -> dict[str, list[dict[str, Any]]]:
        """Items per person id (pure read)."""
        engine = self.engine
        per_person: dict[str, list[dict[str, Any]]] = {}
        for case in engine.list_cases(open=True, order="urgent"):
            if case.sla not in self.levels:
                continue
            defn = engine.definition(case.item_id, case.definition_version)
            audience = engine.settings.escalation.audience(
                case.sla, rec=case, state_roles=defn.states[case.state].roles,
                parent_org=engine.orgs.parent(case.org),
            )
            main = case.clocks.get(case.main_clock or "") if case.main_clock else None
            item = {
                "case_id": case.id, "number": case.number, "item_name": case.item_name,
                "state_label": case.state_label, "sla": case.sla, "org": case.org,
                "due": main.commitment_due.isoformat() if main and main.commitment_due else None,
            }
            for p in resolve(self.directory, audience, engine.orgs):
                per_person.setdefault(p.id, []).append(item)
        return per_person

    def enqueue(self, day: date | None = None) -> list[OutboxMessage]:
        """Queue the day's digests in the outbox (one per person with something in it)."""
        now = self.engine.now()
        day = day or now.date()
        per_person = self.build(day)
        queued: list[OutboxMessage] = []
        if not per_person:
            return queued
        with self.engine.store.unit_of_work() as uow:
            for pid, items in sorted(per_person.items()):
                key = f"digest:{day.isoformat()}:{pid}"
                if _ledger_has(uow, key):
                    continue
                msg = OutboxMessage(
                    topic="digest", case_id=items[0]["case_id"], created_at=now,
                    payload={"date": day.isoformat(), "person": pid, "items": items,
                             "audience": [{"user": pid}]},
                )
                uow.add_outbox([msg])
                _ledger_put(uow, key, items[0]["case_id"], now, {"items": len(items)})
                queued.append(msg)
            uow.commit()
        return queued
