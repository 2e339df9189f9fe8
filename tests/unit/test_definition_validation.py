"""The definition validator (issue 3): every problem kind, all problems of a file at once, each
with the file, the field path and the line; YAML syntax errors with their line."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from adapters import build_engine
from tests.engine_support import ENGINE_DEFS, INVALID
from workflow.definition import load_file, load_text
from workflow.errors import DefinitionError, WorkflowError
from workflow.limits import Limit, Unit

BASE = textwrap.dedent(
    """\
    id: sample
    version: 1
    name: 样例事项
    kind: service_item
    legal_basis: ["《样例办法》第一条"]
    initial: received
    states:
      received: {label: 已接收, roles: [clerk]}
      under_review: {label: 审查中, roles: [examiner]}
      done: {label: 办结, final: true}
    transitions:
      - {trigger: accept, source: received, dest: under_review, roles: [clerk]}
      - {trigger: approve, source: under_review, dest: done, roles: [examiner]}
    clocks:
      handling: {limit: 5 working days, start: received, stop: [done]}
    """
)


def problems(text: str, source: str = "sample.yaml") -> list:
    with pytest.raises(DefinitionError) as exc:
        load_text(text, source)
    assert exc.value.source == source
    assert isinstance(exc.value, WorkflowError)
    return exc.value.problems


def only(text: str) -> tuple[str, str, int | None]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0].path, found[0].message, found[0].line


def test_the_base_is_valid():
    d = load_text(BASE, "sample.yaml")
    assert (d.id, d.version, d.name, d.kind, d.legal_basis) == (
        "sample", 1, "样例事项", "service_item", ("《样例办法》第一条",)
    )
    assert d.clocks["handling"].limit == Limit(5, Unit.WORKING_DAYS)
    assert d.main_clock == "handling"


def test_transition_to_an_unknown_state():
    text = BASE.replace("clocks:", "  - {trigger: refuse, source: under_review, dest: finished}\nclocks:")
    path, msg, line = only(text)
    assert (path, line) == ("transitions[2].dest", 14)
    assert "unknown state 'finished'" in msg


def test_transition_from_an_unknown_state():
    text = BASE.replace("source: under_review, dest: done", "source: [under_review, reviewing], dest: done")
    path, msg, line = only(text)
    assert (path, line) == ("transitions[1].source", 13)
    assert "unknown state 'reviewing'" in msg


@pytest.mark.parametrize(
    ("old", "new", "path", "line", "words"),
    [
        ("start: received,", "start: recieved,", "clocks.handling.start", 15, "unknown state 'recieved'"),
        ("stop: [done]", "stop: [done, closed]", "clocks.handling.stop", 15, "unknown state 'closed'"),
    ],
)
def test_clock_naming_an_unknown_state(old, new, path, line, words):
    got = only(BASE.replace(old, new))
    assert got[0] == path and got[2] == line and words in got[1]


def test_state_pausing_an_unknown_clock():
    text = BASE.replace("under_review: {label: 审查中, roles: [examiner]}",
                        "under_review: {label: 审查中, roles: [examiner], pauses: [handlng]}")
    path, msg, line = only(text)
    assert path == "states.under_review" and line == 9 and "unknown clock 'handlng'" in msg


def test_commitment_longer_than_the_ratio_allows():
    # floor(2/3 × 5) = 3 working days: 3 is allowed, 4 is not
    ok = load_text(BASE.replace("stop: [done]}", "stop: [done], commitment: 3 working days}"), "s.yaml")
    assert ok.clocks["handling"].commitment == Limit(3, Unit.WORKING_DAYS)
    path, msg, line = only(BASE.replace("stop: [done]}", "stop: [done], commitment: 4 working days}"))
    assert (path, line) == ("clocks.handling.commitment", 15)
    assert "longer than 2/3" in msg and "at most 3 working days" in msg


def test_commitment_uses_the_definitions_ratio():
    text = BASE.replace("initial: received", "commitment_ratio: 1/2\ninitial: received")
    # floor(1/2 × 5) = 2
    path, msg, _ = only(text.replace("stop: [done]}", "stop: [done], commitment: 3 working days}"))
    assert path == "clocks.handling.commitment" and "1/2" in msg


def test_commitment_in_other_days_than_the_limit():
    path, msg, _ = only(BASE.replace("stop: [done]}", "stop: [done], commitment: 2 days}"))
    assert path == "clocks.handling.commitment" and "same days" in msg


@pytest.mark.parametrize("bad", ["five days", "0 days", "5 weeks", "'5'", "[5, days]"])
def test_unparsable_limit(bad):
    path, msg, line = only(BASE.replace("limit: 5 working days", f"limit: {bad}"))
    assert (path, line) == ("clocks.handling.limit", 15)
    assert "limit" in msg


@pytest.mark.parametrize("good", ["5 working days", "5 workdays", "15 days", "1 day", "3 months",
                                  "5个工作日", "15日", "15天", "3个月"])
def test_limit_forms_that_parse(good):
    load_text(BASE.replace("limit: 5 working days", f"limit: {good}"), "s.yaml")


def test_unparsable_state_limit_and_extension():
    text = BASE.replace("roles: [examiner]}", "roles: [examiner], limit: soon}", 1)
    text = text.replace(
        "  - {trigger: approve,",
        "  - {trigger: extend, source: under_review, dest: under_review, roles: [leader], "
        "extend: {handling: later}}\n  - {trigger: approve,",
    )
    found = {(p.path, p.line) for p in problems(text)}
    assert found == {("states.under_review.limit", 9), ("transitions[1].extend.handling", 13)}


def test_state_no_path_reaches():
    text = BASE.replace("  done: {label: 办结, final: true}",
                        "  done: {label: 办结, final: true}\n  island: {label: 孤岛}")
    text += "  - {trigger: leave, source: island, dest: done}\n"
    text = text.replace("clocks:\n  handling: {limit: 5 working days, start: received, stop: [done]}\n", "")
    text += "clocks:\n  handling: {limit: 5 working days, start: received, stop: [done]}\n"
    path, msg, line = only(text)
    assert (path, line) == ("states.island", 11)
    assert "cannot be reached" in msg and "'received'" in msg


def test_no_way_to_a_final_state():
    text = BASE.replace("  done: {label: 办结, final: true}",
                        "  done: {label: 办结, final: true}\n  limbo: {label: 搁置}")
    text = text.replace("clocks:", "  - {trigger: park, source: under_review, dest: limbo}\nclocks:")
    path, msg, line = only(text)
    assert (path, line) == ("states.limbo", 11)
    assert "no way from state 'limbo' to a final state" in msg


def test_no_final_state_at_all():
    text = BASE.replace("done: {label: 办结, final: true}", "done: {label: 办结}")
    found = problems(text)
    assert any(p.path == "states" and "no state is final" in p.message for p in found)


def test_two_transitions_with_the_same_trigger_and_source():
    text = BASE.replace("clocks:", "  - {trigger: accept, source: [received], dest: done}\nclocks:")
    path, msg, line = only(text)
    assert (path, line) == ("transitions[2]", 14)
    assert "'accept' from state 'received' is already defined by transitions[0]" in msg


def test_star_source_counts_as_every_non_final_state_for_duplicates():
    text = BASE.replace("clocks:", "  - {trigger: approve, source: \"*\", dest: done}\nclocks:")
    path, msg, _ = only(text)
    assert path == "transitions[2]" and "'approve' from state 'under_review'" in msg


def test_star_source_expands_to_the_non_final_states():
    text = BASE.replace("clocks:", "  - {trigger: withdraw, source: \"*\", dest: done, roles: [clerk]}\nclocks:")
    d = load_text(text, "s.yaml")
    (withdraw,) = [t for t in d.transitions if t.trigger == "withdraw"]
    assert withdraw.sources == ("received", "under_review")


def test_unknown_keys_are_refused_where_they_are():
    text = BASE.replace("kind: service_item", "kind: service_item\ncolour: blue")
    text = text.replace("stop: [done]}", "stop: [done], limt: 3 days}")
    found = {(p.path, p.line) for p in problems(text)}
    assert found == {("colour", 5), ("clocks.handling.limt", 16)}


def test_one_file_reports_every_problem_with_file_path_and_line():
    path = INVALID / "many_problems.yaml"
    with pytest.raises(DefinitionError) as exc:
        load_file(path)
    err = exc.value
    assert err.source == str(path)
    got = {(p.path, p.line): p.message for p in err.problems}
    assert set(got) == {
        ("transitions[2].dest", 16),  # to an unknown state
        ("transitions[4]", 18),  # the same trigger and source twice
        ("clocks.handling.stop", 24),  # a clock naming an unknown state
        ("clocks.handling.commitment", 25),  # longer than floor(2/3 × 5)
        ("clocks.review.limit", 27),  # unparsable limit
        ("states.orphan", 10),  # no path reaches it
        ("states.limbo", 11),  # no way to a final state
    }
    assert "nowhere" in got[("transitions[2].dest", 16)]
    assert "closed" in got[("clocks.handling.stop", 24)]
    assert "five days" in got[("clocks.review.limit", 27)]
    text = str(err)
    assert text.startswith(str(path)) and "7 problem(s)" in text
    for (p, line) in got:
        assert f"line {line}: {p}" in text


def test_bad_yaml_syntax_gives_a_definition_error_with_a_line():
    path = INVALID / "bad_syntax.yaml"
    with pytest.raises(DefinitionError) as exc:
        load_file(path)
    (problem,) = exc.value.problems
    assert exc.value.source == str(path)
    assert problem.line == 8 and "not valid YAML" in problem.message


def test_not_a_mapping():
    with pytest.raises(DefinitionError) as exc:
        load_text("- just\n- a list\n", "list.yaml")
    assert exc.value.problems[0].line == 1


def test_missing_file():
    with pytest.raises(DefinitionError) as exc:
        load_file(INVALID / "no_such_file.yaml")
    assert "cannot read" in str(exc.value)


def test_build_engine_refuses_a_folder_with_bad_files_and_names_each(tmp_path):
    for f in ENGINE_DEFS.glob("*.yaml"):
        shutil.copy(f, tmp_path)
    shutil.copy(INVALID / "many_problems.yaml", tmp_path)
    shutil.copy(INVALID / "bad_syntax.yaml", tmp_path)
    with pytest.raises(DefinitionError) as exc:
        build_engine("memory://", definitions=tmp_path)
    text = str(exc.value)
    assert "many_problems.yaml" in text and "bad_syntax.yaml" in text
    assert len(exc.value.problems) == 8
    assert all(p.line is not None for p in exc.value.problems)


def test_build_engine_with_a_missing_folder():
    with pytest.raises(DefinitionError):
        build_engine("memory://", definitions=INVALID / "missing")


def test_the_fixture_definitions_are_valid():
    for f in sorted(ENGINE_DEFS.glob("*.yaml")):
        load_file(f)


PARTY = BASE.replace(
    "  handling: {limit: 5 working days, start: received, stop: [done]}",
    "  handling: {limit: 5 working days, start: received, stop: [done]}\n"
    "  reply: {limit: 15 days, start: under_review, stop: [done], party: true, on_expire: lapse}",
)


@pytest.mark.parametrize(
    ("lapse", "ok"),
    [
        ("{trigger: lapse, source: under_review, dest: done, roles: [system]}", True),
        ("{trigger: lapse, source: under_review, dest: done}", True),
        ("{trigger: lapse, source: under_review, dest: done, roles: [clerk, system]}", True),
        ("{trigger: lapse, source: under_review, dest: done, roles: [clerk]}", False),
        ("{trigger: lapse, source: under_review, dest: done, roles: [system], requires: [notice]}", False),
    ],
)
def test_on_expire_must_be_fireable_by_the_sweep(lapse, ok):
    text = PARTY.replace("clocks:", f"  - {lapse}\nclocks:")
    if ok:
        assert load_text(text, "s.yaml").clocks["reply"].on_expire == "lapse"
    else:
        path, msg, line = only(text)
        assert (path, line) == ("clocks.reply.on_expire", 17) and "system actor" in msg


def test_on_expire_names_a_trigger_of_a_party_or_external_clock():
    found = {(p.path, p.message.split(":")[0]) for p in problems(PARTY)}
    assert found == {("clocks.reply.on_expire", "unknown trigger 'lapse'")}
    text = BASE.replace("stop: [done]}", "stop: [done], on_expire: approve}")
    found = problems(text)
    assert {p.path for p in found} == {"clocks.handling.on_expire"}
    assert any("only party and external clocks expire" in p.message for p in found)
