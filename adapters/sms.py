"""SMS as an outbox channel: :class:`SmsNotifier` hands each message to an :class:`SmsGateway`.

caseclock ships no provider: the default gateway, :class:`LoggingSmsGateway`, writes each text to
the ``caseclock.sms`` logger (and keeps the last ones). An office plugs its provider's SDK in by
writing a gateway — one method, ``send(phone, text)``, that raises to have the message retried::

    class AliyunGateway:                        # e.g. Alibaba Cloud SMS (dysmsapi)
        def __init__(self, client, sign_name, template_code):
            self.client, self.sign, self.template = client, sign_name, template_code

        def send(self, phone: str, text: str) -> None:
            req = SendSmsRequest(phone_numbers=phone, sign_name=self.sign,
                                 template_code=self.template, template_param=json.dumps({"text": text}))
            resp = self.client.send_sms(req)
            if resp.body.code != "OK":
                raise RuntimeError(resp.body.message)   # the outbox retries with backoff

and naming a factory that returns it in ``CASECLOCK_SMS_GATEWAY=package.module:factory`` (docs/portal.md).

By default only the applicant's notices go by SMS (``SmsNotifier(topics=…)``, kept as ``only``);
staff escalations stay on their channels unless the office lists ``escalation`` too.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from workflow.model import OutboxMessage

from .directory import Person

log = logging.getLogger("caseclock.sms")
MAX_SMS_CHARS = 500  # providers split long texts; a notice is cut with a pointer to the page


@runtime_checkable
class SmsGateway(Protocol):
    """A provider's SMS API. ``send`` raises on failure (the message is retried)."""

    def send(self, phone: str, text: str) -> None: ...


class LoggingSmsGateway:
    """Writes each text to the ``caseclock.sms`` logger (and keeps the last ``keep``)."""

    def __init__(self, logger: logging.Logger | None = None, keep: int = 1000) -> None:
        self.logger = logger or log
        self.keep = keep
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.logger.info("sms → %s: %s", phone, text)
        self.sent.append((phone, text))
        del self.sent[: -self.keep]


def sms_text(message: OutboxMessage) -> str:
    """The text of a message as one SMS (subject and text; long ones cut)."""
    from .notify import render

    subject, body = render(message)
    text = f"{subject}{body}"
    if len(text) > MAX_SMS_CHARS:
        more = "…（详见查询页面）"
        text = text[: MAX_SMS_CHARS - len(more)] + more
    return text


class SmsNotifier:
    """The ``sms`` channel: one text to each recipient with a ``phone`` contact."""

    name = "sms"

    def __init__(self, gateway: SmsGateway | None = None, *, topics: Iterable[str] = ("applicant_notice",)) -> None:
        self.gateway = gateway if gateway is not None else LoggingSmsGateway()
        # not ``topics``: OutboxDelivery reads that as "delivered by this notifier alone, to its own
        # addresses"; an SMS goes to the recipients the message names, alongside the other channels
        self.only = frozenset(topics)

    def send(self, message: OutboxMessage, recipients: Sequence[Person]) -> None:
        if self.only and message.topic not in self.only:
            return
        text = sms_text(message)
        failures = []
        for r in recipients:
            if r.phone:
                try:
                    self.gateway.send(r.phone, text)
                except Exception as exc:  # noqa: BLE001 - any failure of the provider is retried
                    failures.append(f"{r.id}: {type(exc).__name__}: {exc}")
        if failures:
            raise RuntimeError("; ".join(failures))


def gateway_from_spec(spec: str | None) -> SmsGateway:
    """``log`` (or nothing): :class:`LoggingSmsGateway`; ``package.module:factory``: what the
    office's factory returns (called with no arguments; it reads its own configuration)."""
    if not spec or spec.strip() == "log":
        return LoggingSmsGateway()
    module, _, attr = spec.strip().partition(":")
    if not module or not attr:
        raise ValueError(f"CASECLOCK_SMS_GATEWAY must be 'log' or 'package.module:factory', got {spec!r}")
    factory: Any = getattr(importlib.import_module(module), attr)
    gateway = factory()
    if not isinstance(gateway, SmsGateway):
        raise ValueError(f"{spec} returned {type(gateway).__name__}, which has no send(phone, text)")
    return gateway


__all__ = ["LoggingSmsGateway", "SmsGateway", "SmsNotifier", "gateway_from_spec", "sms_text"]
