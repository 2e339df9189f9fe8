"""docs/definitions.md stays true: every key the validator accepts is documented, and every
complete example in it is a valid definition."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workflow import definition as d
from workflow.definition import load_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "definitions.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "keys", [d._TOP, d._STATE, d._TRANS, d._CLOCK, d._FIELD, d.FIELD_TYPES, d.KINDS, d.ROLES, d.LIMIT_STATUSES],
    ids=["top", "state", "transition", "clock", "field", "field types", "kinds", "roles", "statuses"],
)
def test_every_key_is_documented(doc, keys):
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == []


def test_the_complete_examples_are_valid(doc):
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)
    complete = [b for b in blocks if b.startswith("id:")]
    assert len(complete) == 2
    for text in complete:
        defn = load_text(text, "docs/definitions.md")
        assert defn.states and defn.transitions


def test_the_documented_validation_output_is_current(doc):
    from workflow.definition import load_file
    from workflow.errors import DefinitionError

    path = Path("tests/fixtures/invalid/many_problems.yaml")
    with pytest.raises(DefinitionError) as exc:
        load_file(Path(__file__).resolve().parents[1] / "fixtures" / "invalid" / "many_problems.yaml")
    for problem in exc.value.problems:
        assert f"  - {problem}" in doc, str(problem)
    assert str(path) in doc
