"""Property-based fuzzing (hypothesis) of the definition loader (``workflow.definition.load_text``),
the definition override loader (``workflow.overrides``) and the calendar override loader
(``adapters.calendar``) with malformed YAML: each either loads or refuses with ``DefinitionError`` /
``CalendarError`` — never another exception, never a hang (every call runs under an alarm)."""

from __future__ import annotations

import copy
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.calendar import parse_override
from adapters.calendar import read_override as read_calendar
from workflow.definition import load_file, load_text, parse_definition
from workflow.errors import CalendarError, DefinitionError
from workflow.overrides import apply_override, read_override

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "definitions").glob("*.yaml"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SHIPPED}
PLEDGE = load_file(ROOT / "definitions" / "patent_pledge_registration.yaml")
LIMIT_S = 5  # a call that takes longer is a hang

FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class Hang(Exception):
    pass


@contextmanager
def bounded(seconds: float = LIMIT_S) -> Iterator[None]:
    def _alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang as exc:
        # A fresh failure without the loader's frames: the alarm can land 20,000 frames deep in a
        # YAML parser, and pytest's report of such a traceback crashed the whole session
        # (INTERNALERROR: a frame with no line number) instead of failing this one test.
        raise Hang(str(exc)) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def only(errors: tuple[type[BaseException], ...], fn: Callable[[], Any]) -> Any:
    """Run ``fn`` bounded in time: its result, or None when it refused with one of ``errors``."""
    try:
        with bounded():
            return fn()
    except errors:
        return None


# --- values and texts ----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.dates(), st.sampled_from(["5 working days", "2/3", "*", "", "on_track", "-1 days",
                                                       "10 months", "received", "clerk", "0 days", "∞"]),
)
values = st.recursive(scalars, lambda ch: st.lists(ch, max_size=4) | st.dictionaries(
    st.one_of(st.text(max_size=12), st.integers(), st.sampled_from(["id", "states", "clocks", "limit", "roles",
                                                                    "source", "dest", "trigger", "start"])),
    ch, max_size=4), max_leaves=16)
JUNK = ["{", "}", "[", "]", ": ", "- ", "&a ", "*a", "!!python/object:os.system ", "!!binary ", "\t", "'", '"',
        "\\", "%YAML 1.1\n", "---\n", "...\n", "? ", "|", ">", "#", "\x00", "\ufeff", "\u2028", "~", "<<: *a\n",
        "9" * 5000, "0x", "1e9999", ".nan", "2024-02-30", "- &a [*a]\n"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A shipped definition with lines dropped, doubled, re-indented, and junk spliced in."""
    lines = TEXTS[draw(st.sampled_from(sorted(TEXTS)))].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "double", "indent", "dedent", "junk", "cut"]))
        if op == "drop":
            del lines[i]
        elif op == "double":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif op == "junk":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(JUNK) | st.text(max_size=8)) + lines[i][at:]
        else:
            lines = lines[:i]
    return "".join(lines)


def _replace(doc: Any, path: list[int], value: Any) -> Any:
    """``doc`` with the node reached by ``path`` (indices into keys / items) set to ``value``."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    if isinstance(doc, dict):
        key = list(doc)[path[0] % len(doc)]
        return {**doc, key: _replace(doc[key], path[1:], value)}
    i = path[0] % len(doc)
    return [*doc[:i], _replace(doc[i], path[1:], value), *doc[i + 1:]]


ADVERSARIAL = {
    "billion laughs": "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)),
    "deep sequence": "id: x\nstates: " + "[" * 20000 + "]" * 20000,
    "deep mapping": "id: x\nstates: " + "{a: " * 5000 + "1" + "}" * 5000,
    "huge integer": "id: x\nversion: 1" + "0" * 6000,
    "python tag": "id: !!python/object/apply:os.system ['true']",
    "recursive alias": "a: &a\n  b: *a\nid: x",
    "merge loop": "base: &b {x: 1}\nid: x\n<<: *b\nstates: {<<: *b}",
    "binary": "id: !!binary aGVsbG8=",
    "null bytes": "id: x\x00y",
    "long line": "id: " + "x" * 1_000_000,
    "only a comment": "# nothing",
    "empty": "",
    "a list": "- 1\n- 2",
    "tabs": "id:\tx\nstates:\n\t- a",
}


# --- definitions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_definition_documents(name: str) -> None:
    only((DefinitionError,), lambda: load_text(ADVERSARIAL[name], name))


@FUZZ
@given(st.text(max_size=300))
@example("id: [")
@example("states: {a: {pauses: [x]}}")
def test_random_text_is_loaded_or_refused(text: str) -> None:
    only((DefinitionError,), lambda: load_text(text))


@FUZZ
@given(mutated())
def test_mutated_shipped_definitions_are_loaded_or_refused(text: str) -> None:
    only((DefinitionError,), lambda: load_text(text, "mutated.yaml"))


@FUZZ
@given(st.sampled_from(sorted(TEXTS)), st.lists(st.integers(0, 50), max_size=5), values)
def test_any_value_anywhere_in_a_definition(name: str, path: list[int], value: Any) -> None:
    doc = _replace(yaml.safe_load(TEXTS[name]), path, value)
    only((DefinitionError,), lambda: parse_definition(copy.deepcopy(doc), name))
    try:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return
    only((DefinitionError,), lambda: load_text(text, name))


# --- definition overrides ------------------------------------------------------------------------


def _override_text(text: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "override.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        data, source = read_override(path)
        return apply_override(PLEDGE, data, source)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_override_files(name: str) -> None:
    only((DefinitionError,), lambda: _override_text("override: patent_pledge_registration\n" + ADVERSARIAL[name]))


@FUZZ
@given(st.text(max_size=300))
def test_random_override_text_is_applied_or_refused(text: str) -> None:
    only((DefinitionError,), lambda: _override_text("override: patent_pledge_registration\n" + text))


@FUZZ
@given(st.dictionaries(st.sampled_from(["base_version", "version", "reason", "name", "legal_basis",
                                        "commitment_ratio", "clocks", "states", "transitions", "number_prefix",
                                        "fields", "figures", "open_roles", "nonsense"]), values, max_size=4),
       st.sampled_from([{}, {"handling": {"commitment": "1 working days"}}, {"handling": None},
                        {"handling": {"limit": "0 days"}}, {"nope": {}}]))
def test_any_override_document_is_applied_or_refused(doc: dict, clocks: dict) -> None:
    body = {"override": "patent_pledge_registration", "clocks": clocks, **doc}
    only((DefinitionError,), lambda: apply_override(PLEDGE, copy.deepcopy(body), "override.yaml"))


# --- calendar overrides --------------------------------------------------------------------------


def _calendar_text(text: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calendar.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return read_calendar(path)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_calendar_files(name: str) -> None:
    only((CalendarError,), lambda: _calendar_text("year: 2031\nsource: x\n" + ADVERSARIAL[name]))


@FUZZ
@given(st.text(max_size=300))
@example("year: 2031\nsource: 通知\nholidays: [2031-02-30]\nworkdays: []")
@example("year: 2031\nsource: 通知\nholidays: [2031-01-01]\nworkdays: [2031-01-01]")
def test_random_calendar_text_is_loaded_or_refused(text: str) -> None:
    only((CalendarError,), lambda: _calendar_text(text))


@FUZZ
@given(st.dictionaries(st.sampled_from(["year", "source", "holidays", "workdays", "other"]), values, max_size=5),
       st.one_of(st.none(), st.integers(1800, 2300), st.text(max_size=6)))
def test_any_calendar_document_is_loaded_or_refused(doc: dict, year: Any) -> None:
    if year is not None:
        doc = {**doc, "year": year}
    only((CalendarError,), lambda: parse_override(copy.deepcopy(doc), "calendar.yaml"))
