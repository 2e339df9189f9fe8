"""How the pages show things: Chinese labels, badges, days left, form fields to values.

Nothing here counts days: "days left" is the engine's ``Clock.remaining_units`` in the clock's
own ``unit``; dates are the engine's derived dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from adapters.documents import CHOICE_LABELS
from workflow.definition import FieldSpec, TransitionDef
from workflow.fieldrules import MAX_LENGTH, max_length, numeric_text_problem
from workflow.legaltime import TZ
from workflow.limits import Limit
from workflow.model import Case, Clock
from workflow.special import OVERRUN_LABEL
from workflow.values import text_of

SLA_LABELS = {
    "on_track": "正常", "warning": "预警", "overdue": "超承诺时限", "over_statutory": "超法定时限",
    "expired": "期间届满", "met": "按时办结", "met_late": "超承诺办结", "met_over_statutory": "超法定办结",
    "deemed_accepted": "逾期未一次性告知（视为受理）", "overrun": OVERRUN_LABEL,
    "withdrawn": "已撤回",  # closed by a withdrawal: counted as withdrawn (撤回数), never as on time
}
def clock_level(case: Case, c: Clock) -> str:
    """The level a clock's badge shows: its own, except that a clock the withdrawal stopped says
    已撤回 — nothing was 办结 (on time or late) on a withdrawn case; a clock stopped before the
    withdrawal (the 立案期限 at filing) keeps its level."""
    if case.sla == "withdrawn" and c.status == "stopped" and c.sla.startswith("met") and case.closed_at is not None:
        if c.stopped_on is None or c.stopped_on >= case.closed_at.astimezone(TZ).date():
            return "withdrawn"
    return c.sla


# colour class of a level: green, yellow, red, darkred (and grey for closed on time)
SLA_COLOUR = {
    "on_track": "green", "met": "green", "warning": "yellow", "expired": "yellow", "overdue": "red",
    "met_late": "red", "over_statutory": "darkred", "met_over_statutory": "darkred",
    "deemed_accepted": "red", "overrun": "yellow", "withdrawn": "grey",
}
STATUS_LABELS = {"not_started": "未开始", "running": "计时中", "paused": "已暂停", "stopped": "已停止"}
ROLE_LABELS = {
    "clerk": "窗口人员", "examiner": "审查员", "supervisor": "科室负责人", "leader": "局领导",
    "admin": "管理员", "portal": "对接系统", "system": "系统",
}
KIND_LABELS = {"service_item": "窗口服务事项", "dispute_case": "纠纷案件", "bundle": "一件事一次办"}
CLOCK_KIND_LABELS = {"office": "本局时限", "party": "当事人期间", "external": "外部期间", "notice": "一次性告知期限",
                     "special": "特别程序预计期限"}
EVENT_LABELS = {
    "opened": "收件", "transition": "办理", "corrected": "更正", "assigned": "指定承办人",
    "transferred": "移送", "suspended": "全局中止计时", "migrated": "版本迁移", "escalation": "预警/超期",
    "calendar_recomputed": "日历调整重算", "expiry_pending_calendar": "期间届满待日历确认",
    "expiry_confirmed": "确认期间届满", "attached": "上传附件", "document_issued": "出具文书",
    "rated": "申请人评价（好差评）", "order_issued": "督办", "order_answered": "督办答复",
    "order_escalated": "督办逾期未答复（报局领导）", "order_lapsed": "督办失效（案件已办结）",
    "reminded": "催办（超期每个工作日提醒）", "reassign_unfilled": "按升级规则改派未成（无该角色人员）",
    "deemed_accepted": "逾期未一次性告知，视为自收到申请材料之日起受理",
}
LEVEL_LABELS = {"warning": "黄色预警", "overdue": "超承诺时限", "over_statutory": "超法定时限",
                "expired": "期限届满", "deemed_accepted": "逾期未一次性告知，视为受理",
                "overrun": OVERRUN_LABEL}
UNIT_WORDS = {"working_days": "个工作日", "days": "日", "months": "个月"}
YEAR_LABELS = {"official": "官方数据", "override": "本局导入", "provisional": "按法定节假日推算（暂定）"}
PROVISIONAL_NOTE = ("暂定：该年度国务院节假日安排尚未载入，暂按周末及《全国年节及纪念日放假办法》规定的"
                    "法定节假日推算；载入后自动重算")
LIMIT_STATUS_LABELS = {"verified": "已核对条文", "secondary": "二手资料", "unverified": "待核实",
                       "office": "本局承诺"}


def role_names(roles: Any) -> str:
    return "、".join(ROLE_LABELS.get(r, r) for r in roles)


def limit_cn(text: str | None) -> str:
    if not text:
        return ""
    try:
        return Limit.parse(text).label
    except ValueError:
        return text


def choice_label(value: Any) -> str:
    text = text_of(value)
    return CHOICE_LABELS.get(text, text)


def when(value: datetime | date | None, *, seconds: bool = False) -> str:
    """``2024-03-11 09:30`` in Asia/Shanghai."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        v = value.astimezone(TZ) if value.tzinfo else value
        return v.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return value.isoformat()


def not_started_yet(c: Clock, today: date | None) -> bool:
    """The clock's start (the day after its starting day) lies ahead: nothing is counted yet."""
    return today is not None and c.started_on is not None and c.started_on > today \
        and c.status in ("running", "paused")


def days_left(c: Clock, today: date | None = None) -> str:
    """What the law counts: the engine's remaining units to the statutory last day, in its unit,
    never more than the limit itself (a last day moved off a rest day adds days at the end, not
    to what a clerk is told is left). A clock whose start lies ahead shows 尚未起算."""
    unit = UNIT_WORDS.get(c.unit, c.unit)
    if c.status == "paused":
        return "已暂停计时"
    if c.status == "stopped":
        return "已停止计时"
    if c.status == "not_started":
        return "未开始计时"
    if not_started_yet(c, today):
        return f"尚未起算（{c.started_on.isoformat() if c.started_on else ''} 起算）"
    r = c.remaining_units
    if r is None:
        return ""
    if c.statutory_units is not None:
        r = min(r, c.statutory_units)
    if r > 0:
        return f"剩余 {r} {unit}"
    if r == 0:
        return "今日届满"
    return f"已超 {-r} {unit}"


def statutory_text(c: Clock) -> str:
    """The statutory limit in its own unit: ``3个月`` (a month limit is never shown as the days it
    came to), ``5 个工作日``, ``15 日``; extensions named."""
    try:
        base = Limit.parse(c.limit)
        extensions = [Limit.parse(e) for e in c.extensions]
    except ValueError:
        return limit_cn(c.limit)
    if base.unit.value == "months" or any(e.unit.value == "months" for e in extensions):
        return "".join([base.label, *(f"（延长{e.label}）" for e in extensions)])
    if c.statutory_units is None:
        return base.label
    text = f"{c.statutory_units} {UNIT_WORDS.get(c.unit, c.unit)}"
    if extensions:
        text += f"（含延长{'、'.join(e.label for e in extensions)}）"
    return text


def urgent_clock(case: Case) -> Clock | None:
    """The clock a worklist row shows: the running one due first (the main clock on a tie), else
    the main clock."""
    running = [c for c in case.clocks.values() if c.status == "running"]
    far = datetime.max.replace(tzinfo=TZ)

    def due(c: Clock) -> datetime:
        at = c.overdue_at if c.kind == "office" else c.expires_at
        return at or far

    if running:
        return min(running, key=lambda c: (due(c), c.name != case.main_clock))
    if case.main_clock and case.main_clock in case.clocks:
        return case.clocks[case.main_clock]
    return next(iter(case.clocks.values()), None)


@dataclass(frozen=True)
class Bar:
    """One clock drawn as a bar: positions are fractions of the statutory units."""

    used: float
    commitment: float | None
    over: bool
    used_units: int
    commitment_units: int | None
    statutory_units: int | None


def clock_bar(c: Clock) -> Bar | None:
    total = c.statutory_units
    if not total:
        return None
    used = min(c.used_units / total, 1.0)
    commit = (c.commitment_units / total) if c.commitment_units else None
    return Bar(used=used, commitment=min(commit, 1.0) if commit is not None else None,
               over=c.used_units > total, used_units=c.used_units,
               commitment_units=c.commitment_units, statutory_units=total)


def span_positions(c: Clock) -> list[tuple[float, float, str]]:
    """Paused spans on the clock's date strip (start → statutory last day), as fractions of the
    strip, for drawing only; the label says the dates."""
    if c.started_on is None or c.statutory_due is None:
        return []
    total = (c.statutory_due - c.started_on).days or 1
    out = []
    for a, b in c.paused_spans:
        end = b or c.statutory_due
        x0 = max(0.0, min(1.0, (a - c.started_on).days / total))
        x1 = max(x0, min(1.0, (end - c.started_on).days / total))
        out.append((x0, max(x1 - x0, 0.01), f"暂停 {a.isoformat()} 至 {b.isoformat() if b else '今'}"))
    return out


def strip_position(c: Clock, day: date | None) -> float | None:
    if day is None or c.started_on is None or c.statutory_due is None:
        return None
    total = (c.statutory_due - c.started_on).days or 1
    return max(0.0, min(1.0, (day - c.started_on).days / total))


# --- forms ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One form control built from a definition's field."""

    name: str
    label: str
    type: str  # the FieldSpec type
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    default: Any = None  # the definition's default value, shown pre-filled
    hint: str = ""  # a note beside the label (受理时必填: a later step requires it)
    maxlength: int | None = None  # a text box's most characters (the field's max_length rule)


def inputs_for(fields: tuple[FieldSpec, ...], required: tuple[str, ...] = ()) -> list[Input]:
    """Controls for a transition's (or an item's) fields; names in ``required`` without a spec
    become text boxes."""
    out: list[Input] = []
    named = {f.name for f in fields}
    for f in fields:
        out.append(Input(f.name, f.label or f.name, f.type, f.required or f.name in required,
                         tuple((c, choice_label(c)) for c in f.choices), getattr(f, "default", None),
                         maxlength=max_length(f)))
    for name in required:
        if name not in named:
            out.append(Input(name, FIELD_NAMES.get(name, name), "text", True, maxlength=MAX_LENGTH["text"]))
    return out


def transition_inputs(t: TransitionDef, defn: Any = None, data: Mapping[str, Any] | None = None) -> list[Input]:
    """A transition's controls: its own fields, and the case fields it requires that the case
    (``data``) does not hold yet, as the definition's ``defn`` opening form asks for them (a choice
    stays a choice, never preselected when it chooses a limit)."""
    if defn is None:
        return inputs_for(t.fields, t.required_fields)
    own = {f.name for f in t.fields}
    case_fields = {f.name: f for f in defn.fields}
    wanted = [n for n in t.required_fields if n not in own and _blank((data or {}).get(n))]
    extra = tuple(case_fields[n] for n in wanted if n in case_fields)
    out = inputs_for((*t.fields, *extra), tuple(n for n in t.required_fields if n in own or n in wanted))
    limiting = limit_fields(defn)
    return [replace(i, default=None) if i.name in limiting else i for i in out]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not (value.strip() if isinstance(value, str) else value))


def limit_fields(defn: Any) -> set[str]:
    """The fields whose value chooses a clock's limit (the channel: online 2 working days, paper 5)."""
    return {c.limit_choice.field for c in defn.clocks.values() if c.limit_choice is not None}


def opening_inputs(defn: Any, fields: tuple[FieldSpec, ...]) -> list[Input]:
    """The opening form's controls: a field a step from the first state requires says so
    (受理时必填), and a field that chooses a limit is never preselected."""
    later: dict[str, str] = {}
    for t in defn.transitions_from(defn.initial):
        for name in t.requires:
            later.setdefault(name, t.label or t.trigger)
    limiting = limit_fields(defn)
    out = []
    for i in inputs_for(fields):
        hint = f"{later[i.name]}时必填" if i.name in later and not i.required else ""
        if i.name in limiting:
            hint = "；".join(x for x in (hint, "决定办理时限，请选择") if x)
        out.append(replace(i, default=None if i.name in limiting else i.default, hint=hint))
    return out


FIELD_NAMES = {"reason": "理由", "notice": "通知内容", "decision": "决定内容"}


def form_values(inputs: list[Input], form: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values from a submitted form; empty boxes are left out (the engine names what is
    required), text it cannot read as the type is passed on as text (the engine refuses it)."""
    data: dict[str, Any] = {}
    for i in inputs:
        raw = form.get(f"f_{i.name}")
        if i.type == "boolean":
            data[i.name] = raw in ("on", "true", "1", "yes")
            continue
        if raw is None or not isinstance(raw, str):
            continue
        raw = raw.strip()
        if raw == "":
            continue
        if i.type in ("integer", "number", "money") and numeric_text_problem(raw):
            data[i.name] = raw  # more digits than any bound allows: counted, never converted
        elif i.type == "integer":
            try:
                data[i.name] = int(raw)
            except ValueError:
                data[i.name] = raw
        elif i.type in ("number", "money"):
            try:
                num = float(raw.replace(",", ""))
                data[i.name] = int(num) if num.is_integer() and abs(num) < 2**53 else num
            except ValueError:
                data[i.name] = raw
        else:
            data[i.name] = raw
    return data


def show_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(show_value(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{show_value(v)}" for k, v in value.items())
    return choice_label(value)


ERROR_WORDS = {
    "required": "必填", "must be text": "应为文字", "must be a date (YYYY-MM-DD)": "应为日期",
    "must be a whole number": "应为整数", "must be a number": "应为数字",
    "must not be negative": "不能为负数", "must be true or false": "应为是或否",
    "in the future": "不能晚于今天", "unknown org": "没有这个单位", "before first": "不能早于开始日",
    "a whole number of working days from 1 to 60": "应为 1 至 60 的整数（工作日）",
    "at most 1000 characters": "不能超过 1000 字",
    "after today": "不能晚于今天", "out of range": "数值超出允许范围",
    "must be a finite number": "应为有效的数字", "names a person twice": "同一人不能重复列出",
    "must be names (a list, or text separated by 、，,)": "应为姓名（以、分隔）",
}
# the engine's range refusals (workflow/bounds.py), with the values they name
RANGE_WORDS = [
    (re.compile(r"at most (\d+) days back: not before (\S+)"), "最多补录{0}天以内，不能早于{1}"),
    (re.compile(r"not before (\S+)"), "不能早于{0}"),
    (re.compile(r"not after (\S+)"), "不能晚于{0}"),
    (re.compile(r"must lie between (\d+) and (\d+)"), "年份应在{0}至{1}年之间"),
    (re.compile(r"a suspension covers at most (\d+) days"), "一次中止最多{0}天"),
]


def _range_word(problem: str) -> str | None:
    for pattern, words in RANGE_WORDS:
        m = pattern.fullmatch(problem)
        if m:
            return words.format(*m.groups())
    return None


_RULE_WORDS = [  # the field rules' problems with a value in them (workflow/fieldrules.py)
    (re.compile(r"out of range \((.+) … (.+)\)"), "应在 {0} 至 {1} 之间"),
    (re.compile(r"before the case's legal start (.+)"), "不能早于本案法定起算日 {0}"),
    (re.compile(r"more than (\d+) days ago"), "不能早于 {0} 日之前"),
    (re.compile(r"too long: (\d+) characters \(at most (\d+)\)"), "过长：共 {0} 字，最多 {1} 字"),
    (re.compile(r"must be at most (.+)"), "不能大于 {0}"),
    (re.compile(r"must be at least (.+)"), "不能小于 {0}"),
    (re.compile(r"must not be before (.+)"), "不能早于 {0}"),
    (re.compile(r"must not be after (.+)"), "不能晚于 {0}"),
    (re.compile(r"must be an odd number of names, at least (\d+)(?:, at most (\d+))?"), "应为 {0} 人以上的单数（以、分隔）"),
    (re.compile(r"must be names, at least (\d+)(?:, at most (\d+))?"), "应至少列出 {0} 人（以、分隔）"),
]


def problem_words(problem: str) -> str:
    """One field's problem as a clerk reads it."""
    word = ERROR_WORDS.get(problem)
    if word is not None:
        return word
    if problem.startswith("must be one of"):
        return "应从选项中选择"
    for pattern, text in _RULE_WORDS:
        m = pattern.fullmatch(problem)
        if m:
            return text.format(*m.groups())
    return _range_word(problem) or problem


def field_messages(exc: Exception) -> dict[str, str]:
    """Each field at fault (MissingData's ``fields``) and its problem in words, for the message
    beside the field on a re-shown form."""
    from workflow import errors as e

    if isinstance(exc, e.MissingData):
        return {name: problem_words(problem) for name, problem in exc.fields.items()}
    return {}


def explain(exc: Exception, labels: Mapping[str, str] | None = None) -> str:
    """A refusal as a clerk reads it: Chinese first, the engine's own words after."""
    from workflow import errors as e

    labels = labels or {}
    if isinstance(exc, e.MissingData) and exc.fields:
        parts = []
        for name, problem in exc.fields.items():
            parts.append(f"{labels.get(name, FIELD_NAMES.get(name, name))}：{problem_words(problem)}")
        return "缺少或不正确的数据 — " + "；".join(parts)
    heads = [
        (e.Forbidden, "没有权限"), (e.VersionConflict, "案件已被他人更新，请刷新页面后重试"),
        (e.TransitionNotAllowed, "当前状态下不能办理"), (e.CaseNotFound, "找不到该案件，或不在您的管辖范围"),
        (e.UnknownItem, "未知事项或单位"), (e.IdempotencyMismatch, "重复提交的表单内容不一致"),
        (e.CalendarError, "日历数据有误"), (e.DefinitionError, "文件格式有误"),
        (e.MissingData, "缺少或不正确的数据"),
    ]
    for cls, head in heads:
        if isinstance(exc, cls):
            return f"{head}（{exc}）"
    return f"操作未完成（{exc}）"


# --- the escalation ladder (workflow/ladder.py) on the definition page -------------------------------

_TARGET_WORDS = {"assignee": "承办人", "state_roles": "本环节办理人员", "role:supervisor@org": "本级科室负责人",
                 "role:leader@org": "本级局领导", "role:leader@parent": "上级局领导"}
_WHEN = {"overdue": "承诺期限届满次日0时起", "over_statutory": "法定期限届满次日0时起"}


def _target_words(spec: str) -> str:
    """``assignee|state_roles`` → 承办人（无则本环节办理人员）; ``role:x@org`` → x's label."""
    options = [o.strip() for o in spec.split("|")]
    words = []
    for o in options:
        if o in _TARGET_WORDS:
            words.append(_TARGET_WORDS[o])
        elif o.startswith("role:"):
            role, _, where = o[5:].partition("@")
            words.append(("上级" if where == "parent" else "本级") + ROLE_LABELS.get(role, role))
        else:
            words.append(o)
    return words[0] + (f"（无则{'、'.join(words[1:])}）" if len(words) > 1 else "")


def ladder_rows(effective: dict[str, Any]) -> list[dict[str, str]]:
    """One row per level of ``Ladder.effective(...)``: 级别, 何时, 通知, 催办, 改派, and whether
    the level is the default."""
    rows = []
    for level, e in effective.items():
        if level == "warning":
            if "share_of_commitment" in e:
                when = f"承诺时限已用去{round(e['share_of_commitment'] * 100)}%后（次日0时起）"
            else:
                n = str(e.get("before_commitment", "1")).split()[0]
                when = "承诺期限最后一日的前一个工作日0时起" if n == "1" else f"承诺期限最后一日前第{n}个工作日0时起"
        else:
            when = _WHEN.get(level, "")
        told = "、".join(_target_words(t) for t in e.get("audience") or []) or "—"
        remind = str(e.get("remind") or "")
        rows.append({
            "label": str(e.get("label", level)), "when": when, "told": told,
            "remind": f"每个工作日 {remind.split()[-1]}" if remind else "—",
            "reassign": ROLE_LABELS.get(str(e.get("reassign_to")), "") if e.get("reassign_to") else "—",
            "default": "默认" if e.get("default") else "本局设定",
        })
    return rows
