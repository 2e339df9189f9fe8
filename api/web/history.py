"""A case's history as the case page shows it: each kind of event in its own words, with its own
fields. A reassignment shows the previous and the new officer and the reason; a correction names
the step it undid by that step's label (and when and by whom it was taken); a transition's data is
labelled by that transition's own fields; people show as their names with their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.documents import print_label
from workflow.definition import Definition
from workflow.engine_base import LIMITS_KEY
from workflow.model import Case, Event

from . import present

# data keys never shown (bookkeeping of the engine and the attachments)
HIDDEN = frozenset({"bundle", "run", "children_outcomes", "sha256", "attachment_id", "content_type", "size",
                    "template", "seen", "new_limits", "order"})
# words for the data keys of the engine's own events and of a transition's common keys
WORDS = {"reason": "理由", "notice": "通知内容", "decision": "决定内容"}


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    event: Event
    title: str
    actor: str  # 张伟（zhang.wei）
    move: str = ""  # 已接收 → 审查中
    fields: list[tuple[str, str]] = field(default_factory=list)
    colour: str = ""  # escalations: the level's colour


def _text(value: Any) -> str:
    return present.show_value(value)


def _when(value: Any) -> str:
    """An ISO instant as people write it (2024-03-11 09:30)."""
    if isinstance(value, str) and len(value) >= 16 and value[10] == "T":
        from datetime import datetime

        try:
            return present.when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return _text(value)


def timeline(events: Sequence[Event], defn: Definition, case: Case, *,
             who: Callable[[str | None], str], org_name: Callable[[str], str]) -> list[Entry]:
    """The entries of ``events`` (oldest first), each in its kind's words."""
    steps = {t.trigger: (t.label or t.trigger) for t in defn.transitions}
    field_labels: dict[str, dict[str, str]] = {}
    for t in defn.transitions:
        labels = field_labels.setdefault(t.trigger, {})
        for f in t.fields:
            labels.setdefault(f.name, print_label(f.label or f.name))
    item_fields = {f.name: print_label(f.label or f.name) for f in defn.fields}
    by_seq = {e.seq: e for e in events}
    clocks = {name: (c.label or name) for name, c in case.clocks.items()}

    def clock_label(name: Any) -> str:
        return clocks.get(str(name), str(name))

    def move(e: Event) -> str:
        if e.to_state and e.from_state != e.to_state:
            start = defn.label_of(e.from_state) if e.from_state else ""
            return f"{start} → {defn.label_of(e.to_state)}"
        return ""

    out: list[Entry] = []
    for e in events:
        d: Mapping[str, Any] = e.data
        rows: list[tuple[str, str]] = []
        title = present.EVENT_LABELS.get(e.kind, e.kind)
        colour = ""
        if e.kind == "transition":
            title = steps.get(e.trigger or "", e.trigger or "")
            own = field_labels.get(e.trigger or "", {})
            for k, v in d.items():
                if k.startswith("_") or k in HIDDEN or v in (None, ""):
                    continue
                if k == LIMITS_KEY and isinstance(v, Mapping):  # a limit the step's data chose anew
                    rows += [_relimited(clock_label(name), change) for name, change in v.items()]
                    continue
                if k == "special_procedure" and isinstance(v, Mapping):  # 特别程序: its expected end and law
                    rows += [(label, _text(v.get(key))) for key, label in (("expected_end", "预计届满"), ("basis", "依据"))
                             if v.get(key)]
                    continue
                rows.append((own.get(k) or WORDS.get(k) or item_fields.get(k, k), _text(v)))
        elif e.kind == "opened":
            title = defn.opening_label  # 收件, 收到请求书 …: never 立案, a later step of a dispute
            if d.get("started_on"):  # back-dated: the legal start and why
                rows.append(("法定起算日", _text(d.get("started_on"))))
                rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "corrected":
            reverses = d.get("reverses")
            undone = by_seq.get(reverses) if isinstance(reverses, int) else None
            step = steps.get(str(d.get("trigger") or ""), str(d.get("trigger") or ""))
            if undone is not None:
                step += f"（{present.when(undone.at)}，{who(undone.actor_id)}）"
            rows.append(("撤销的步骤", step))
            rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "assigned":
            rows.append(("原承办人", who(d.get("from")) or "未指定"))
            rows.append(("新承办人", who(d.get("to")) or "未指定（按岗位办理）"))
            if d.get("reason"):
                rows.append(("说明", _text(d.get("reason"))))
        elif e.kind == "transferred":
            rows.append(("原单位", org_name(str(d.get("from_org", "")))))
            rows.append(("新单位", org_name(str(d.get("to_org", "")))))
            rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "suspended":
            rows.append(("不计入时限的期间", f"{d.get('first', '')} 至 {d.get('last', '')}"))
            rows.append(("单位", org_name(str(d.get("org", "")))))
            rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "migrated":
            rows.append(("定义版本", f"第 {d.get('from_version')} 版 → 第 {d.get('to_version')} 版"))
            if d.get("new_limits"):
                rows.append(("时限", "适用新版本的时限"))
            rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "escalation":
            level = str(d.get("level", ""))
            title = present.LEVEL_LABELS.get(level, level)
            colour = present.SLA_COLOUR.get(level, "red")
            rows.append(("时限", clock_label(d.get("clock"))))
            rows.append(("应于", _when(d.get("due"))))
            if d.get("seen") and str(d.get("seen"))[:16] != str(d.get("due"))[:16]:
                rows.append(("发现于", _when(d.get("seen"))))
        elif e.kind == "reminded":  # the office's ladder: a reminder while overdue (workflow/ladder.py)
            colour = present.SLA_COLOUR.get(str(d.get("level", "")), "red")
            rows.append(("时限", clock_label(d.get("clock"))))
            rows.append(("级别", present.LEVEL_LABELS.get(str(d.get("level", "")), _text(d.get("level")))))
            rows.append(("提醒日", _text(d.get("day"))))
        elif e.kind == "reassign_unfilled":
            colour = "red"
            rows.append(("级别", present.LEVEL_LABELS.get(str(d.get("level", "")), _text(d.get("level")))))
            rows.append(("改派给", present.ROLE_LABELS.get(str(d.get("role", "")), _text(d.get("role")))))
            rows.append(("说明", _text(d.get("note"))))
        elif e.kind == "calendar_recomputed":
            rows.append(("年度", _text(d.get("year"))))
            if d.get("source"):
                rows.append(("依据", _text(d.get("source"))))
            changed = d.get("clocks")
            if isinstance(changed, Mapping):
                for name, dates in changed.items():
                    rows.append((clock_label(name), _dates(dates)))
            moved = d.get("orders")
            if isinstance(moved, Mapping):
                for dates in moved.values():
                    if isinstance(dates, Mapping):
                        old, new = dates.get("before") or {}, dates.get("after") or {}
                        rows.append(("督办答复期限", f"{_text(old.get('due'))} → {_text(new.get('due'))}"))
        elif e.kind == "order_lapsed":
            rows.append(("答复期限", _text(d.get("due"))))
            rows.append(("说明", "案件已办结，督办不再答复、不再报局领导"))
        elif e.kind == "deemed_accepted":
            rows.append(("收到申请材料之日", _when(d.get("received_on"))))
            rows.append(("一次性告知期限最后一日", _when(d.get("last_day"))))
        elif e.kind in ("expiry_pending_calendar", "expiry_confirmed"):
            rows.append(("期间", clock_label(d.get("clock"))))
            last = d.get("last_day") or d.get("expires_at")
            if last:
                rows.append(("最后一日" if d.get("last_day") else "届满", _when(last)))
            if d.get("on_expire"):
                rows.append(("届满后的操作", steps.get(str(d["on_expire"]), str(d["on_expire"]))))
            if d.get("reason"):
                rows.append(("理由", _text(d.get("reason"))))
        elif e.kind == "order_issued":
            rows.append(("督办事由", _text(d.get("reason"))))
            rows.append(("要求", _text(d.get("action"))))
            rows.append(("答复期限", f"{d.get('reply_days')} 个工作日（至 {d.get('due', '')}）"))
        elif e.kind == "order_answered":
            rows.append(("答复", _text(d.get("text"))))
            if d.get("on_time") is False:
                rows.append(("是否按时", "逾期答复"))
        elif e.kind == "order_escalated":
            colour = "red"
            rows.append(("答复期限", _text(d.get("due"))))
            rows.append(("发现于", _when(d.get("seen"))))
        elif e.kind == "attached":
            rows.append(("文件", _text(d.get("filename"))))
            if d.get("label"):
                rows.append(("说明", _text(d.get("label"))))
        elif e.kind == "document_issued":
            rows.append(("文书", _text(d.get("title") or d.get("template"))))
        else:  # a kind recorded by an integrator: its data as it is
            for k, v in d.items():
                if not k.startswith("_") and k not in HIDDEN and v not in (None, ""):
                    rows.append((WORDS.get(k, k), _text(v)))
        out.append(Entry(event=e, title=title, actor=who(e.actor_id), move=move(e),
                         fields=[(k, v) for k, v in rows if v], colour=colour))
    return out


def data_rows(case: Case, defn: Definition, events: Sequence[Event],
              elsewhere: Callable[[], Mapping[str, Any]] | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The case's data as the case page lists it: the item's own fields (its labels, amounts with
    their unit), then what was given with later steps, each labelled by the step that last gave it
    (a withdrawal's 理由 is not called 不予登记理由). ``elsewhere()``: field name → its spec in
    the other definitions, for data this item does not declare (a 一件事 hands every child the
    whole form: a transfer case holds the pledge's 出质人): labelled as there, never by its key,
    and listed with the item's own (it came with the application, not with a later step); asked
    only when the case holds such data."""
    from adapters.documents import money

    own: list[tuple[str, str]] = []
    named = set()
    for f in defn.fields:
        named.add(f.name)
        value = case.data.get(f.name)
        if value in (None, "", []):
            continue
        own.append((f.label or f.name, money(value) if f.type == "money" else _text(value)))
    labels: dict[str, str] = {}
    steps = {t.trigger: t for t in defn.transitions}
    for e in events:
        if e.kind != "transition" or e.trigger not in steps:
            continue
        t = steps[e.trigger]
        fields = {f.name: f for f in t.fields}
        for k in e.data:
            if k in fields:
                labels[k] = fields[k].label or k
            else:
                labels[k] = f"{WORDS.get(k, k)}（{t.label or t.trigger}）"
    later = []
    other: Mapping[str, Any] | None = None  # elsewhere(), once, when first needed
    for k, value in case.data.items():
        if k.startswith("_") or k in named or value in (None, "", []):
            continue
        spec = None
        if k not in labels and k not in WORDS and elsewhere is not None:
            if other is None:
                other = elsewhere()
            spec = other.get(k)
        if spec is not None:  # no step gave it: it came with the application (the 一件事's form)
            own.append((spec.label or k, money(value) if spec.type == "money" else _text(value)))
            continue
        later.append((labels.get(k, WORDS.get(k, k)), _text(value)))
    return own, later


def _relimited(clock: str, change: Any) -> tuple[str, str]:
    """A limit the step's data chose anew: ``办理时限``, ``5个工作日 → 2个工作日（法定期限 … → …）``."""
    if not isinstance(change, Mapping):
        return clock, _text(change)
    text = f"{present.limit_cn(change.get('from'))} → {present.limit_cn(change.get('to'))}"
    moved = _dates(change)
    return clock, f"{text}（{moved}）" if moved else text


def _dates(value: Any) -> str:
    """``{"before": {...}, "after": {...}}`` of a recomputed clock: what moved, old → new."""
    if not isinstance(value, Mapping):
        return _text(value)
    before, after = value.get("before") or {}, value.get("after") or {}
    words = {"statutory_due": "法定期限", "commitment_due": "承诺期限", "expires_at": "届满"}
    parts = []
    for key, word in words.items():
        old, new = before.get(key), after.get(key)
        if new is not None and old != new:
            parts.append(f"{word} {_when(old) if old else '—'} → {_when(new)}")
    return "，".join(parts)


__all__ = ["Entry", "data_rows", "timeline"]
