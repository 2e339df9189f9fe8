"""The diagrams: every state and transition of every shipped definition is drawn, in Mermaid and
in graphviz, and docs/diagrams is what `python -m adapters.diagrams docs/diagrams` writes."""

import re
from pathlib import Path

import pytest

from adapters import build_engine
from adapters.diagrams import main, markdown, write_diagrams
from workflow.diagram import limits_table, to_dot, to_mermaid

DOCS = Path(__file__).resolve().parents[2] / "docs" / "diagrams"
SHIPPED = build_engine("memory://").registry.latest()


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_mermaid_draws_every_state_transition_final_state_and_clock(defn):
    text = to_mermaid(defn)
    assert text.startswith("stateDiagram-v2\n")
    for name, s in defn.states.items():
        assert f'state "{s.label}' in text and f" as {name}\n" in text
    for t in defn.transitions:
        for src in t.sources:
            assert re.search(rf"^    {src} --> {t.dest}: {t.trigger}\b", text, re.M), (src, t.trigger)
    for name in defn.final_states:
        assert f"    {name} --> [*]\n" in text
    assert f"    [*] --> {defn.initial}\n" in text
    for c in defn.clocks.values():  # clocks in the clock note, step limits in their state's note
        assert (f"{c.name} " in text) if not c.step else ("step limit: " + str(c.limit)) in text
    for name, s in defn.states.items():
        for clock in s.pauses:
            assert re.search(rf"note right of {name}\n\s+暂停 pauses: [^\n]*{clock}", text)
    assert text.count("\n    note ") == text.count("\n    end note")  # every note is closed


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_dot_draws_every_state_and_transition(defn):
    text = to_dot(defn)
    assert text.startswith(f'digraph "{defn.id}" {{') and text.rstrip().endswith("}")
    for name in defn.states:
        assert re.search(rf"^    {name} \[label=", text, re.M)
    edges = sum(len(t.sources) for t in defn.transitions)
    assert len(re.findall(r"^    \w+ -> \w+ \[label=", text, re.M)) == edges
    for t in defn.transitions:
        for src in t.sources:
            assert f'    {src} -> {t.dest} [label="{t.trigger}' in text
    assert text.count("peripheries=2") == len(defn.final_states)


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_limits_table_lists_every_clock_with_its_commitment(defn):
    table = limits_table(defn)
    assert len(table.strip().splitlines()) == 2 + len(defn.clocks)
    for c in defn.clocks.values():
        assert f"| `{c.name}`" in table


def test_commitments_in_the_table_are_the_engines():
    engine = build_engine("memory://")
    table = limits_table(engine.definition("patent_infringement_adjudication"))
    assert "| 5 working days (extension ≤ 5 working days) | 3 working days |" in table
    assert "| 3 months (extension ≤ 3 months) | ≈60 days |" in table
    assert "| —（不压缩） | party |" in table
    fast = limits_table(engine.definition("fast_pre_examination"))  # commitment_ratio 1
    assert "| 5 working days | 5 working days |" in fast


def test_labels_are_made_safe_for_mermaid():
    engine = build_engine("memory://")
    text = to_mermaid(engine.definition("patent_pledge_registration"))
    body = text.split("\n", 2)[2]
    assert '"' not in body.replace('state "', "").replace('" as ', "")
    assert ";" not in text and "#" not in text.replace("fill:#", "").replace("stroke:#", "")


def test_the_command_writes_markdown_and_svg_only_with_dot(tmp_path, capsys):
    assert main([str(tmp_path / "out"), "--no-svg"]) == 0
    pages = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert pages == sorted(f"{d.id}.md" for d in SHIPPED)
    fake_dot = tmp_path / "dot"  # echoes the graphviz source back as the "svg"
    fake_dot.write_text("#!/bin/sh\ncat\n", encoding="utf-8")
    fake_dot.chmod(0o755)
    written = write_diagrams(tmp_path / "dot-out", SHIPPED[:1], dot=str(fake_dot))
    svg = tmp_path / "dot-out" / f"{SHIPPED[0].id}.svg"
    assert svg in written and svg.read_text(encoding="utf-8") == to_dot(SHIPPED[0])
    assert f"![{SHIPPED[0].id}]({SHIPPED[0].id}.svg)" in (tmp_path / "dot-out" / f"{SHIPPED[0].id}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("defn", SHIPPED, ids=lambda d: d.id)
def test_docs_diagrams_are_up_to_date(defn):
    page = DOCS / f"{defn.id}.md"
    assert page.exists(), "run: python -m adapters.diagrams docs/diagrams"
    expected = markdown(defn, svg=(DOCS / f"{defn.id}.svg").exists())
    assert page.read_text(encoding="utf-8") == expected, "stale: run python -m adapters.diagrams docs/diagrams"
