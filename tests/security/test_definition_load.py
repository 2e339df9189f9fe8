"""Issue 14, class 6: definition files. A load is all or nothing (one transaction for every file,
on SQLite and PostgreSQL; a refused load registers nothing, so a corrected version can be loaded
afterwards); duplicated YAML keys, unknown roles anywhere and non-ASCII digits are refused; limits
are bounded; every problem names its file, line and field; ``caseclock validate`` reports every
file's problems and never prints a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import build_engine
from workflow.definition import load_text
from workflow.errors import DefinitionError, Problem
from workflow.limits import MAX_UNITS, Limit, Unit
from workflow.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
PLEDGE = (FIX / "pledge.yaml").read_text(encoding="utf-8")
LICENCE = (FIX / "licence.yaml").read_text(encoding="utf-8")


def _write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def _v2(text: str, label: str) -> str:
    return text.replace("version: 1", "version: 2").replace("label: 审查中", f"label: {label}")


def _dispose(engine) -> None:
    dispose = getattr(engine.store, "dispose", None)
    if dispose is not None:
        dispose()


def _problems(exc: DefinitionError) -> list[Problem]:
    return list(exc.problems)


# --- all or nothing --------------------------------------------------------------------------------


def test_a_refused_load_registers_nothing_and_the_corrected_version_loads(sql_url: str, tmp_path: Path) -> None:
    """The office loads a new pledge version 2 together with a licence file that changed without
    a new version: refused. Nothing of it is registered, so the office's corrected version 2
    (other content than the refused one) loads afterwards."""
    first = _write(tmp_path / "v1", pledge=PLEDGE, licence=LICENCE)
    _dispose(build_engine(sql_url, definitions=[first]))

    changed_licence = LICENCE.replace("7 working days", "6 working days")
    refused = _write(tmp_path / "refused", pledge=_v2(PLEDGE, "审核中"), licence=changed_licence)
    with pytest.raises(DefinitionError) as exc:
        build_engine(sql_url, definitions=[refused])
    assert any(p.path == "version" and "already registered" in p.message for p in exc.value.problems)
    assert str(refused / "licence.yaml") in str(exc.value)

    corrected = _write(tmp_path / "corrected", pledge=_v2(PLEDGE, "复核中"), licence=LICENCE)
    engine = build_engine(sql_url, definitions=[corrected])
    try:
        assert engine.definition("pledge").version == 2
        assert engine.definition("pledge").label_of("under_review") == "复核中"
    finally:
        _dispose(engine)


def test_a_refused_load_leaves_the_registry_as_it_was(tmp_path: Path) -> None:
    registry = Registry()
    registry.load([_write(tmp_path / "v1", pledge=PLEDGE)])
    before = registry.all()
    bundle = (FIX / "bundle.yaml").read_text(encoding="utf-8").replace("[pledge, licence]", "[pledge, nothing]")
    bad = _write(tmp_path / "bad", licence=LICENCE, pledge2=_v2(PLEDGE, "审核中"), bundle=bundle)
    with pytest.raises(DefinitionError) as exc:
        registry.load([bad])
    assert registry.all() == before and not registry.has("licence")
    problem = next(p for p in exc.value.problems if "unknown child" in p.message)
    assert problem.path == "children" and problem.line == 6
    assert (problem.file or exc.value.source) == str(bad / "bundle.yaml")
    registry.load([_write(tmp_path / "good", licence=LICENCE)])  # and the next good load goes in
    assert registry.has("licence")


def test_overrides_are_all_or_nothing(tmp_path: Path) -> None:
    registry = Registry()
    registry.load([_write(tmp_path / "defs", pledge=PLEDGE)])
    good = "override: pledge\nversion: 2\nreason: x\nstates:\n  under_review: {label: 审核中}\n"
    bad = "override: pledge\nbase_version: 1\nclocks:\n  handling: {commitment: 5 working days}\n"
    folder = tmp_path / "overrides"
    folder.mkdir()
    (folder / "a.yaml").write_text(good, encoding="utf-8")
    (folder / "b.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(DefinitionError):
        registry.apply_overrides([folder])
    assert [d.version for d in registry.all()] == [1]


# --- what a file may say ---------------------------------------------------------------------------


def test_a_duplicated_key_is_refused_with_both_lines() -> None:
    text = PLEDGE.replace(
        "  handling: {limit: 5 working days, start: received, stop: [registered, refused], max_extension: 3 working days}",
        "  handling:\n    limit: 5 working days\n    start: received\n    stop: [registered, refused]\n"
        "    limit: 500 working days",
    )
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "dup.yaml")
    [problem] = [p for p in exc.value.problems if p.path == "clocks.handling.limit"]
    assert "twice" in problem.message and problem.line == text.splitlines().index("    limit: 500 working days") + 1
    assert exc.value.source == "dup.yaml"


def test_a_duplicated_top_level_key_is_reported_with_the_other_problems() -> None:
    text = PLEDGE.replace("version: 1", "version: 1\nversion: 7") + "bogus: 1\n"
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "dup.yaml")
    paths = {p.path for p in exc.value.problems}
    assert {"version", "bogus"} <= paths


@pytest.mark.parametrize("where, text", [
    ("states.under_review.roles", PLEDGE.replace("under_review: {label: 审查中, roles: [examiner]}",
                                                 "under_review: {label: 审查中, roles: [examinor]}")),
    ("transitions[0].roles", PLEDGE.replace("source: received, dest: under_review, roles: [clerk]",
                                            "source: received, dest: under_review, roles: [clark]")),
    ("open_roles", PLEDGE + "open_roles: [clerk, anyone]\n"),
])
def test_unknown_roles_are_refused_anywhere(where: str, text: str) -> None:
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "roles.yaml")
    [problem] = exc.value.problems
    assert problem.path == where and "unknown role" in problem.message and problem.line is not None


@pytest.mark.parametrize("limit", ["５ working days", "٥ working days", "1５ days", "۵个工作日"])
def test_non_ascii_digits_in_limits_are_refused(limit: str) -> None:
    with pytest.raises(ValueError, match="0-9"):
        Limit.parse(limit)
    text = PLEDGE.replace("limit: 5 working days", f"limit: {limit}")
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "digits.yaml")
    [problem] = [p for p in exc.value.problems if p.path == "clocks.handling.limit"]
    assert problem.line == 24 and "0-9" in problem.message


@pytest.mark.parametrize("ratio", ["２/３", "٢/٣", "0.５"])
def test_non_ascii_digits_in_numbers_are_refused(ratio: str) -> None:
    with pytest.raises(DefinitionError) as exc:
        load_text(PLEDGE.replace("commitment_ratio: 2/3", f"commitment_ratio: '{ratio}'"), "ratio.yaml")
    assert [p.path for p in exc.value.problems] == ["commitment_ratio"]


@pytest.mark.parametrize("limit", ["99999999 days", "99,999,999 days", "2501 working days", "121 months",
                                   "3661日", "9" * 5000 + " days"])
def test_limits_are_bounded_and_refused_with_file_and_line(limit: str) -> None:
    text = PLEDGE.replace("limit: 5 working days", f"limit: '{limit}'")
    with pytest.raises(DefinitionError) as exc:
        load_text(text, "long.yaml")
    [problem] = [p for p in exc.value.problems if p.path == "clocks.handling.limit"]
    assert problem.line == 24
    assert len(str(problem)) < 300  # a 5,000-digit limit is not echoed back whole


def test_the_bounds_themselves_load() -> None:
    for unit, most in MAX_UNITS.items():
        word = {Unit.WORKING_DAYS: "working days", Unit.DAYS: "days", Unit.MONTHS: "months"}[unit]
        assert Limit.parse(f"{most} {word}") == Limit(most, unit)
        text = PLEDGE.replace("limit: 5 working days", f"limit: {most} {word}").replace(
            "max_extension: 3 working days", f"max_extension: 1 {word}").replace(
            "extend: {handling: 2 working days}", f"extend: {{handling: 1 {word}}}")
        load_text(text, "longest.yaml")  # loads, and deadlines at the bounds are computed elsewhere


def test_every_problem_of_a_load_names_file_line_and_field(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "many",
        a=PLEDGE.replace("limit: 5 working days", "limit: 99999999 days"),
        b=LICENCE.replace("roles: [clerk]", "roles: [clerk, nobody]").replace("version: 1", "version: 1\nversion: 1"),
    )
    with pytest.raises(DefinitionError) as exc:
        Registry().load([folder])
    assert {p.file for p in exc.value.problems} == {str(folder / "a.yaml"), str(folder / "b.yaml")}
    for p in exc.value.problems:
        assert p.file and p.line and p.path, p


# --- caseclock validate ----------------------------------------------------------------------------


def test_validate_reports_every_file_and_never_a_traceback(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "defs",
        overflow=PLEDGE.replace("limit: 5 working days", "limit: 99999999 days"),
        dup=LICENCE.replace("id: licence", "id: licence\nid: licence2"),
        digits=PLEDGE.replace("id: pledge", "id: pledge3").replace("limit: 5 working days", "limit: ５ days"),
        markup=LICENCE.replace("id: licence", "id: lic4").replace("roles: [clerk]", "roles: ['[/red]']"),
        good=(FIX / "licence.yaml").read_text(encoding="utf-8").replace("id: licence", "id: fine"),
    )
    run = subprocess.run([sys.executable, "-m", "api.cli", "validate", "--definitions", str(folder)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ})
    out = run.stdout + run.stderr
    assert run.returncode == 1
    assert "Traceback" not in out
    for name in ("overflow", "dup", "digits", "markup"):
        assert f"{folder / name}.yaml" in out, out
    assert "line 24: clocks.handling.limit" in out and "twice" in out and "0-9" in out and "[/red]" in out
    assert f"ok {folder / 'good.yaml'}" in out
