"""Report figures that count by kind (`value`), and the checks on a figure's keys."""

import pytest

from workflow.definition import load_text
from workflow.errors import DefinitionError

BASE = """\
id: counted
version: 1
name: 计数
fields:
  - {name: channel, type: choice, label: 渠道, choices: [face_to_face, tisc]}
  - {name: urgent, type: boolean, label: 加急}
initial: received
states:
  received: {label: 已接收, roles: [clerk]}
  done: {label: 完成, final: true}
transitions:
  - {trigger: finish, source: received, dest: done, roles: [clerk]}
figures:
"""


def test_a_value_figure_counts_only_the_cases_with_that_value():
    d = load_text(BASE + "  - {name: tisc, field: channel, agg: count, value: tisc}\n"
                         "  - {name: both, field: channel, agg: count, value: [tisc, face_to_face]}\n"
                         "  - {name: urgent, field: urgent, agg: count, value: true}\n"
                         "  - {name: any, field: channel, agg: count}\n")
    tisc, both, urgent, any_ = d.figures
    assert tisc.values == ("tisc",) and tisc.counts("tisc") and not tisc.counts("face_to_face")
    assert not tisc.counts(None)
    assert both.counts("face_to_face") and both.counts("tisc") and not both.counts("")
    assert urgent.counts(True) and not urgent.counts(False)
    assert any_.counts("face_to_face") and not any_.counts("") and not any_.counts(None)


@pytest.mark.parametrize(("figure", "message"), [
    ("{name: x, field: channel, agg: count, value: mail}", "figures[0].value: 'mail' is not one of the choices"),
    ("{name: x, field: channel, agg: sum, value: tisc}", "figures[0].value: value counts the cases"),
    ("{name: x, agg: count, value: tisc}", "figures[0].value: value counts the cases"),
    ("{name: x, field: channel, agg: count, valeu: tisc}", "figures[0].valeu: unknown key 'valeu'"),
])
def test_bad_figures_are_refused_with_their_line(figure, message):
    with pytest.raises(DefinitionError) as exc:
        load_text(BASE + f"  - {figure}\n", "counted.yaml")
    assert message in str(exc.value) and "line 14" in str(exc.value)
