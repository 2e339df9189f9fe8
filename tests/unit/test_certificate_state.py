"""The certificate step's key (行政许可法第四十四条, workflow/certificate.py): a state marked
``certificate: true`` gets the article's step clock (10 working days, basis, verified) unless it
writes a shorter limit with the special rule's basis; every misuse is named with its path."""

from __future__ import annotations

from tests.unit.test_definition_validation import BASE, only
from workflow.certificate import BASIS
from workflow.definition import load_text

CERT = "  certifying: {label: 待发证, roles: [clerk], certificate: true"


def with_step(extra: str = "", *, state: str = CERT) -> str:
    text = BASE.replace("\n  done:", "\n" + state + extra + "}\n  done:", 1)
    return text.replace("dest: done, roles: [examiner]}", "dest: certifying, roles: [examiner]}\n"
                        "  - {trigger: issue, source: certifying, dest: done, roles: [clerk]}", 1)


def test_a_certificate_state_gets_the_articles_step_clock() -> None:
    d = load_text(with_step(), "sample.yaml")
    c = d.clocks["certifying"]
    assert (c.step, str(c.limit), c.status, c.basis) == (True, "10 working days", "verified", BASIS)
    assert d.states["certifying"].certificate and not d.states["received"].certificate


def test_a_special_rule_may_be_shorter_and_names_itself() -> None:
    d = load_text(with_step(", limit: 2 working days, basis: 某规定第八条, limit_status: secondary"), "s.yaml")
    c = d.clocks["certifying"]
    assert (str(c.limit), c.status, c.basis) == ("2 working days", "secondary", "某规定第八条")
    path, message, _ = only(with_step(", limit: 2 working days"))
    assert path == "states.certifying.basis" and "special rule" in message


def test_never_longer_nor_in_other_days() -> None:
    for limit in ("11 working days", "10 days", "1 month"):
        path, message, _ = only(with_step(f", limit: {limit}, basis: x"))
        assert path == "states.certifying.limit" and "at most 10 working days" in message, limit


def test_not_final_and_a_boolean() -> None:
    path, message, _ = only(BASE.replace("done: {label: 办结, final: true}", "done: {label: 办结, final: true, certificate: true}"))
    assert path == "states.done.certificate" and "not final" in message
    path, message, _ = only(with_step(state="  certifying: {label: 待发证, certificate: yes please"))
    assert path == "states.certifying.certificate" and "true or false" in message
