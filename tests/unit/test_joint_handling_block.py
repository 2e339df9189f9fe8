"""The ``joint_handling`` block of a bundle (行政许可法第四十二条第二款, workflow/joint_handling.py):
what the loader makes of it, and every misuse named with its path."""

from __future__ import annotations

import textwrap

from tests.unit.test_definition_validation import BASE, only, problems
from workflow.definition import load_text

BUNDLE = textwrap.dedent(
    """\
    id: joint
    name: 联合办理
    kind: bundle
    children: [a, b]
    initial: open
    states:
      open: {label: 联合办理中, roles: [clerk]}
      review: {label: 专家评审中, pauses: [joint_handling]}
      closed: {label: 已办结, final: true}
    transitions:
      - {trigger: review, source: open, dest: review, roles: [clerk]}
      - {trigger: children_closed, source: [open, review], dest: closed, roles: [system]}
    joint_handling:
      mode: 联合办理
      status: verified
    """
)


def block(**keys: str) -> str:
    return BUNDLE + "".join(f"  {k}: {v}\n" for k, v in keys.items())


def test_the_block_makes_the_cap_and_its_extension() -> None:
    d = load_text(BUNDLE, "joint.yaml")
    c = d.clocks["joint_handling"]
    assert (str(c.limit), str(c.max_extension), c.start, c.stop, c.main, c.kind.value) == (
        "45 working days", "15 working days", "open", ("closed",), True, "office")
    assert c.label == "联合办理时限（行政许可法第四十二条第二款）"
    ext = [t for t in d.transitions if t.trigger == "extend_joint_handling"]
    assert [(t.sources, t.dest) for t in ext] == [(("open",), "open"), (("review",), "review")]  # self-loops
    assert {(t.roles, t.max_uses, t.required_fields, dict(t.extend)["joint_handling"].n) for t in ext} == {
        (("leader",), 1, ("reason", "approver"), 15)}
    assert ext[0].label == "经本级人民政府负责人批准延长"


def test_an_office_may_be_stricter_than_the_law() -> None:
    d = load_text(block(limit="30 working days", commitment="15 working days", label="并联审批时限",
                        extension="{limit: 10 working days, roles: [supervisor, leader], label: 延长}"), "j.yaml")
    c = d.clocks["joint_handling"]
    assert (str(c.limit), str(c.commitment), str(c.max_extension), c.label) == (
        "30 working days", "15 working days", "10 working days", "并联审批时限")
    ext = next(t for t in d.transitions if t.trigger == "extend_joint_handling")
    assert (ext.roles, ext.label) == (("supervisor", "leader"), "延长")


def test_never_longer_than_the_law_nor_in_other_days() -> None:
    for key, value in [("limit", "46 working days"), ("limit", "45 days"), ("extension", "{limit: 16 working days}"),
                       ("extension", "{limit: 1 month}")]:
        path, message, _ = only(block(**{key: value}))
        assert path.startswith(f"joint_handling.{key}") and "at most" in message, (key, value)
    path, message, _ = only(block(commitment="31 working days"))  # 2/3 of 45 is 30
    assert path == "joint_handling.commitment" and "at most 30 working days" in message


def test_every_problem_is_named() -> None:
    found = {p.path: p.message for p in problems(BUNDLE.replace("mode: 联合办理", "mode: 并联办理")
                                                   .replace("status: verified", "status: sure\n  days: 45"))}
    assert "统一办理, 联合办理, 集中办理" in found["joint_handling.mode"]
    assert "status must be one of" in found["joint_handling.status"]
    assert "unknown key 'days'" in found["joint_handling.days"]
    found = {p.path: p.message for p in problems(block(extension="{roles: [mayor], days: 15}"))}
    assert "unknown role 'mayor'" in found["joint_handling.extension.roles"]
    assert "unknown key 'days'" in found["joint_handling.extension.days"]


def test_only_a_bundle_and_the_names_are_reserved() -> None:
    path, message, _ = only(BASE + "joint_handling: {mode: 联合办理, status: verified}\n")
    assert path == "joint_handling" and "only a bundle" in message
    taken = BUNDLE.replace("transitions:\n", "transitions:\n  - {trigger: extend_joint_handling, source: open, "
                           "dest: closed, roles: [leader]}\n")
    path, message, _ = only(taken)
    assert path == "transitions" and "extend_joint_handling" in message
    own = BUNDLE + "clocks:\n  joint_handling: {limit: 10 working days, start: open, stop: [closed]}\n"
    path, message, _ = only(own)
    assert path == "clocks.joint_handling" and "rename this clock" in message


def test_a_pause_of_the_cap_needs_the_block() -> None:
    path, message, _ = only(BUNDLE.split("joint_handling:\n")[0])
    assert path == "states.review" and "unknown clock 'joint_handling'" in message
