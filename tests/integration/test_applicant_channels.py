"""The applicant's notices through the outbox to real channels: e-mail to a local SMTP server, SMS
through a gateway (the logging one, and one that fails then recovers), each at least once and
never twice; the page has them at once, whatever the channels do."""

from __future__ import annotations

from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from adapters import build_engine
from adapters.directory import MemoryDirectory
from adapters.notify import OutboxDelivery, SmtpNotifier
from adapters.online import OnlineService, check_applicant
from adapters.sms import LoggingSmsGateway, SmsNotifier, gateway_from_spec, sms_text
from api.runtime import notifiers_from_env
from tests.integration.test_notify import SmtpServer, smtp  # noqa: F401  (the local SMTP server)
from workflow import Actor

CLERK = Actor("c1", {"clerk"}, "420100")
EXAMINER = Actor("e1", {"examiner"}, "420100")
FORM = {"pledgor": "甲公司", "pledgee": "乙银行", "patent_numbers": "ZL1"}


class Flaky:
    """An SMS provider that fails its first ``n`` sends."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        if self.n > 0:
            self.n -= 1
            raise RuntimeError("provider busy")
        self.sent.append((phone, text))


@pytest.fixture
def svc(freezer):
    freezer.move_to("2024-06-03 10:00:00+08:00")
    return OnlineService(build_engine("memory://"))


def _applied(svc, **contacts: str):
    who = check_applicant({"id": "A-1", "name": "甲公司", **contacts})
    case, code = svc.apply("patent_pledge_registration", FORM, who, org="420100", via="web")
    svc.engine.fire(case.id, "accept", actor=CLERK)
    svc.engine.fire(case.id, "request_supplement", actor=EXAMINER,
                    data={"supplement_items": "1、质押合同原件；2、营业执照"})
    return case, svc.find(case.number, code)


def test_email_and_sms_reach_the_applicant_once(svc, smtp: SmtpServer, freezer) -> None:  # noqa: F811
    case, app = _applied(svc, phone="13800000000", email="ip@example.org")
    sms = LoggingSmsGateway()
    delivery = OutboxDelivery(svc.engine.store, MemoryDirectory(), [SmtpNotifier("127.0.0.1", smtp.port),
                                                                     SmsNotifier(sms)], now=svc.engine.now)
    result = delivery.run()
    assert len(result.delivered) == 2 and not result.dead  # 受理 and 补正
    mails = [message_from_bytes(data) for _, _, data in smtp.messages]
    assert [rcpt for _, rcpt, _ in smtp.messages] == [["ip@example.org"], ["ip@example.org"]]
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in mails]
    assert subjects == [f"【受理通知】{case.number}", f"【补正通知】{case.number}"]
    body = mails[1].get_payload(decode=True).decode("utf-8")
    assert "1. 质押合同原件\n2. 营业执照" in body
    assert [phone for phone, _ in sms.sent] == ["13800000000", "13800000000"]
    assert sms.sent[1][1].startswith(f"【补正通知】{case.number}")
    assert delivery.run().handled == 0  # nothing twice
    assert [n["kind"] for n in svc.progress(app)["notices"]] == ["accepted", "supplement"]


def test_a_failing_sms_provider_is_retried_without_mailing_again(svc, smtp: SmtpServer, freezer) -> None:  # noqa: F811
    _applied(svc, phone="13800000000", email="ip@example.org")
    flaky = Flaky(2)
    delivery = OutboxDelivery(svc.engine.store, MemoryDirectory(), [SmtpNotifier("127.0.0.1", smtp.port),
                                                                     SmsNotifier(flaky)], now=svc.engine.now)
    first = delivery.run()
    assert len(first.retried) == 2 and len(smtp.messages) == 2 and flaky.sent == []
    freezer.tick(120)  # past the first backoff
    again = delivery.run()
    assert len(again.delivered) == 2 and len(flaky.sent) == 2
    assert len(smtp.messages) == 2  # e-mail had worked: not sent again


def test_without_contacts_the_page_is_the_only_channel(svc) -> None:
    _, app = _applied(svc)
    assert [m for m in svc.engine.store.outbox() if m.topic == "applicant_notice"] == []
    assert len(svc.progress(app)["notices"]) == 2


def test_channels_from_the_environment_and_long_texts():
    names = [n.name for n in notifiers_from_env({})]
    assert names == ["log", "sms"]
    names = [n.name for n in notifiers_from_env({"CASECLOCK_SMTP_HOST": "mail.example.org", "CASECLOCK_SMTP_TLS": "ssl"})]
    assert names == ["log", "email", "sms"]
    assert isinstance(gateway_from_spec("log"), LoggingSmsGateway)
    with pytest.raises(ValueError, match="package.module:factory"):
        gateway_from_spec("not a spec")
    with pytest.raises(ValueError, match="no send"):
        gateway_from_spec("adapters.directory:MemoryDirectory")
    from datetime import datetime

    from workflow import TZ
    from workflow.model import OutboxMessage

    long = OutboxMessage(topic="applicant_notice", case_id="c", created_at=datetime.now(TZ),
                         payload={"subject": "【补正通知】X", "text": "补" * 2000})
    text = sms_text(long)
    assert len(text) == 500 and text.endswith("（详见查询页面）")
