"""Receipts and documents from templates: 受理回执, 受理通知书, 补正通知书, 决定书.

Pure rendering: a :class:`workflow.Case` (as the engine returns it, clocks computed), its
:class:`workflow.Definition` and a Jinja2 template give an HTML page (a print view, A4 CSS) and
the same page as a PDF. Nothing here computes a date: the statutory and committed dates are the
case's clocks, read as the engine derived them.

Templates: the shipped defaults live in ``adapters/templates/`` (``receipt.html.j2``,
``acceptance_notice.html.j2``, ``supplement_notice.html.j2``, ``decision.html.j2`` and the
shared ``_layout.html.j2``). An office changes the wording by putting a file of the same name in
its override folder (``DocumentSettings.template_dir``, ``CASECLOCK_TEMPLATES`` for the service),
or adds a document by adding a template. Templates run in Jinja2's sandbox.

When each document can be issued is declared in ``documents.yaml`` beside the templates
(:mod:`adapters.issuance`): :meth:`DocumentRenderer.issuable` and :meth:`DocumentRenderer.available`
answer for a case, and ``html``/``pdf`` with ``check=True`` refuse (:class:`DocumentNotIssuable`)
what cannot be issued now. A document is issued in the name of the case's org (its official name
and seal text from the org tree), dated by the step that allows it.

On paper, amounts read ``5,000,000元（500万元）``, dates ``2024年3月11日``, choices in words, and a
field's input hint (a trailing ``（多件以逗号分隔）`` in its label) is left out.

The PDF is made from the rendered HTML by a small converter for the subset the templates use
(``h1``–``h3``, ``p``, ``div``, ``table``, ``ul``/``ol``, ``br``, ``b``/``strong``, ``hr``;
``class="center|right"`` aligns; ``class="screen-only"`` is left out), set in reportlab's built-in
CID font ``STSong-Light`` (no font file needed). So the office edits one template for both.
Long stored text is laid out in time that grows with its length: a long paragraph is cut into
pieces (:func:`chunks`), a long table cell continues after the table, and a page longer than
:data:`MAX_PDF_CHARS` is refused (:class:`DocumentTooLarge`) — docs/performance.md, "Long text in
documents".
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html import escape as _esc
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from workflow.definition import Definition
from workflow.legaltime import TZ
from workflow.limits import Limit
from workflow.model import Case, Clock, Event
from workflow.orgs import OrgTree
from workflow.special import KIND_LABELS as SPECIAL_KIND_LABELS
from workflow.values import is_abnormal_number, text_of

from .issuance import DocumentNotIssuable, Issuable, IssueRule, check, load_rules, refusal
from .wrapping import breakable

SHIPPED = Path(__file__).resolve().parent / "templates"
SUFFIX = ".html.j2"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

TITLES = {
    "receipt": "受理回执",
    "acceptance_notice": "受理通知书",
    "supplement_notice": "补正通知书",
    "decision": "决定书",
    "special_procedure_notice": "特别程序告知书",
}


# How choice values read on paper; an office adds or changes them (DocumentSettings.choice_labels).
CHOICE_LABELS: dict[str, str] = {
    "registration": "设立登记", "change": "变更登记", "cancellation": "注销登记", "extension": "延期登记",
    "online": "网上提交", "paper": "纸件提交", "domestic": "境内", "abroad": "境外",
    "invention": "发明", "utility_model": "实用新型", "design": "外观设计",
    "exclusive": "独占许可", "sole": "排他许可", "ordinary": "普通许可",
    "enterprise": "企业", "individual": "个人", "research_institution": "科研机构",
    "patent": "专利", "trademark": "商标", "copyright": "著作权",
    "geographical_indication": "地理标志", "trade_secret": "商业秘密",
    "patent_infringement": "专利侵权", "trademark_infringement": "商标侵权",
    "copyright_infringement": "著作权侵权", "ip_contract": "知识产权合同", "unfair_competition": "不正当竞争",
    "infringement_compensation": "侵权赔偿", "license_fee": "许可使用费", "employee_reward": "职务发明奖酬",
    "ownership": "权属", "inventorship": "发明人资格", "provisional_use_fee": "临时保护期使用费",
    "infringement_damages": "侵权损害赔偿", "counterfeit_patent": "假冒专利",
    "infringement_found": "侵权成立", "claim_dismissed": "驳回请求",
    "inspection": "检查发现", "complaint": "投诉", "report": "举报", "referral": "移送", "assigned": "交办",
    "consultation": "咨询", "infringement_analysis": "侵权分析", "dispute_guidance": "纠纷应对指导",
    "overseas_dispute": "海外纠纷", "other": "其他",
    **SPECIAL_KIND_LABELS,  # 特别程序的种类 (workflow/special.py): 听证、鉴定、中止 …
}


class TemplateNotFound(LookupError):
    """No template of that name (in the override folder or the shipped ones)."""


class DocumentTooLarge(ValueError):
    """The page is longer than a PDF is laid out for (:data:`MAX_PDF_CHARS`): refused at once
    rather than laid out for minutes; the HTML print view still shows it (HTTP 422)."""

    code = "document_too_large"

    def __init__(self, size: int) -> None:
        self.size = size
        self.reason = f"文书内容过长（{size:,} 字符，PDF 上限 {MAX_PDF_CHARS:,}），请使用打印版（HTML）"
        super().__init__(f"the document's page has {size:,} characters, more than a PDF is laid out for "
                         f"({MAX_PDF_CHARS:,}); the HTML print view shows it")


@dataclass(frozen=True, kw_only=True)
class DocumentSettings:
    """What the office configures. ``query_text`` and ``query_url`` may use ``{number}`` and
    ``{id}`` (the case number and id)."""

    template_dir: Path | None = None
    office_name: str = "湖北省知识产权局"  # the issuer of a case whose org the org tree does not know
    query_text: str = "凭本回执所载案件编号 {number}，可在本局政务服务网站或窗口查询办理进度。"
    query_url: str = ""
    query_phone: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)  # handed to every template as ``office``
    choice_labels: Mapping[str, str] = field(default_factory=dict)  # added to CHOICE_LABELS


def cn_date(value: date | datetime | str | None) -> str:
    """``2024年3月11日`` (empty for None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value[:10])
        except ValueError:
            return value
        value = parsed
    if not isinstance(value, date):  # a list, a number: what was stored, as text
        return _show(value)
    if isinstance(value, datetime):
        value = value.astimezone(TZ).date() if value.tzinfo else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def iso_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return (value.astimezone(TZ) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def limit_label(text: str) -> str:
    """``5 working days`` → ``5个工作日``."""
    try:
        return Limit.parse(text).label
    except ValueError:
        return text


_HINT = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def print_label(label: str) -> str:
    """A field's label as it prints: without the input hint that ends it (``专利号（多件以逗号分隔）``
    prints ``专利号``)."""
    bare = _HINT.sub("", label or "")
    return bare or label


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or is_abnormal_number(value):
        return None
    if isinstance(value, str) and len(value) > 64:
        return None
    try:
        d = Decimal(str(value).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _grouped(d: Decimal) -> str:
    """Whole yuan without decimals; otherwise yuan and 分, two decimals (123,456,789.50)."""
    text = f"{d:,.2f}"
    return text[:-3] if text.endswith(".00") else text


FEN = Decimal("0.01")
MONEY_CEILING = Decimal(10) ** 18  # larger is no amount a person wrote: shown as stored (abbreviated)


def money(value: Any) -> str:
    """An amount in yuan as it prints: ``5,000,000元（500万元）``; ``12,800元``; ``0.50元``; fractions
    of a yuan to the 分 (``123,456,789.50元（12,345.67895万元）``: the 万元 figure is the same amount,
    exact to the 分, never rounded further). Text that is not a number prints as it is."""
    d = _decimal(value)
    if d is None or abs(d) >= MONEY_CEILING:
        return "" if value is None else _show(value)
    d = d.quantize(FEN, rounding=ROUND_HALF_UP)  # to the 分, half up, as amounts are written
    out = f"{_grouped(d)}元"
    if abs(d) >= 10000:
        wan = (d / 10000).normalize()  # the same amount, to the 分, in 万元
        out += f"（{wan:,f}万元）"
    return out


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(_show(v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{_show(v)}" for k, v in value.items())
    return text_of(value)


def _clock_view(c: Clock) -> dict[str, Any]:
    return {
        "name": c.name, "label": c.label, "kind": c.kind, "status": c.status,
        "limit": c.limit, "limit_label": limit_label(c.limit),
        "statutory_due": c.statutory_due, "commitment_due": c.commitment_due,
        "started_on": c.started_on, "stopped_on": c.stopped_on, "sla": c.sla,
        "provisional": c.provisional, "party": c.party, "external": c.external,
        # 暂定 per date: statutory (for a party's period, its last day grace included), commitment
        "statutory_provisional": c.statutory_provisional or c.expiry_provisional,
        "commitment_provisional": c.commitment_provisional,
        "extensions": [limit_label(e) for e in c.extensions],
        "paused_spans": list(c.paused_spans),
    }


def _promised(office: list[dict[str, Any]], definition: Definition, basis: Event | None) -> list[dict[str, Any]]:
    """What a 受理通知书 promises: the office's limits that count on from the acceptance — not a
    state's own step limit (已立案待送达), nor a limit the acceptance itself stopped or that had
    stopped before it (the 立案期限 at filing). Reprinted after the decision, it still states
    the limits it promised (their dates as they stand). Without the acceptance event: the limits
    still counting. ``office``: the case's office clocks (``office_clocks``)."""
    out = []
    for c in office:
        spec = definition.clocks.get(c["name"])
        if spec is None or spec.step or c["status"] == "not_started":
            continue
        if basis is None or basis.to_state is None:
            if c["status"] in ("running", "paused"):
                out.append(c)
            continue
        if basis.to_state in spec.stop:  # the acceptance stopped it
            continue
        if c["status"] == "stopped" and c["stopped_on"] is not None and c["stopped_on"] < basis.at.astimezone(TZ).date():
            continue
        out.append(c)
    return out


def case_context(
    case: Case,
    definition: Definition,
    *,
    events: Sequence[Event] = (),
    settings: DocumentSettings | None = None,
    org_name: Callable[[str], str] | None = None,
    issued_on: date | None = None,
    extra: Mapping[str, Any] | None = None,
    orgs: OrgTree | None = None,
    basis: Event | None = None,
) -> dict[str, Any]:
    """Everything a template sees (see docs/operations.md for the list). ``basis``: the step the
    document is issued after (dates it; a decision says what it decided)."""
    s = settings or DocumentSettings()
    # the case's data as it stands at issue: the opening's and every later step's as the engine
    # merged them (a pledge received blank names its parties and channel given at 受理)
    given = case.data
    labels = {f.name: print_label(f.label or f.name) for f in definition.fields}
    words = {**CHOICE_LABELS, **dict(s.choice_labels)}

    def show(spec_type: str, value: Any) -> str:
        if spec_type == "choice" and isinstance(value, str):
            return words.get(value, value)
        if spec_type == "date":
            return cn_date(value)
        if spec_type == "money":
            return money(value)
        return _show(value)

    received = [
        {"name": f.name, "label": labels[f.name], "value": show(f.type, given[f.name])}
        for f in definition.fields
        if given.get(f.name) not in (None, "", [])
    ]
    types = {f.name: f.type for f in definition.fields}
    for t in definition.transitions:  # labels of data given with transitions (补正内容, 理由, …)
        for f in t.fields:
            labels.setdefault(f.name, print_label(f.label or f.name))
            types.setdefault(f.name, f.type)
    data = [
        {"name": k, "label": labels.get(k, k), "value": show(types.get(k, ""), v)}
        for k, v in case.data.items()
        if not k.startswith("_") and v not in (None, "")
    ]
    main = case.clocks.get(case.main_clock) if case.main_clock else None
    ordered = sorted(case.clocks.values(), key=lambda c: c.name != case.main_clock)  # main first
    clocks = [_clock_view(c) for c in ordered]
    # the 一次性告知 clock (kind notice) is the window's duty before acceptance, not a handling limit;
    # nor is a special procedure's expected time (特别程序): its own notice states it
    office = [c for c in clocks if not c["party"] and not c["external"] and c["kind"] not in ("notice", "special")]
    last_transition = next((e for e in reversed(events) if e.kind == "transition"), None)
    step_labels = {x.trigger: (x.label or x.trigger) for x in definition.transitions}
    last_label = step_labels.get(last_transition.trigger or "", last_transition.trigger or "") \
        if last_transition is not None else ""
    basis_label = ""
    if basis is not None:
        basis_label = definition.opening_label if basis.kind == "opened" else step_labels.get(basis.trigger or "", basis.trigger or "")
    fmt = {"number": case.number, "id": case.id}
    known = orgs is not None and case.org in orgs
    issuer = orgs.authority(case.org) if known and orgs is not None else s.office_name
    seal = orgs.seal(case.org) if known and orgs is not None else issuer
    return {
        "title": "",
        "case": case,
        "number": case.number,
        "item_name": case.item_name or definition.name,
        "item_id": case.item_id,
        "kind": case.kind,
        "legal_basis": list(definition.legal_basis),
        "org": case.org,
        "org_name": org_name(case.org) if org_name else (orgs.name(case.org) if orgs else case.org),
        "issuer": issuer,
        "seal_text": seal,
        "office_name": issuer,
        "state": case.state,
        "state_label": case.state_label,
        "final": case.final,
        "assignee": case.assignee,
        "opened_at": case.opened_at,
        "started_on": case.started_on,
        "closed_at": case.closed_at,
        "received": received,
        "data": data,
        "values": dict(case.data),
        "shown": {d["name"]: d["value"] for d in data},
        "labels": labels,
        "clocks": clocks,
        "office_clocks": office,
        "promised_clocks": _promised(office, definition, basis),
        "main": _clock_view(main) if main is not None else None,
        "events": list(events),
        "last_transition": last_transition,
        "last_transition_label": last_label,
        "last_transition_on": last_transition.at.astimezone(TZ).date() if last_transition else None,
        "basis_event": basis,
        "basis_label": basis_label,
        "basis_on": basis.at.astimezone(TZ).date() if basis is not None else None,
        "issued_on": issued_on or case.opened_at.astimezone(TZ).date(),
        "query_text": s.query_text.format(**fmt) if s.query_text else "",
        "query_url": s.query_url.format(**fmt) if s.query_url else "",
        "query_phone": s.query_phone,
        "office": dict(s.extra),
        **dict(extra or {}),
    }


class DocumentRenderer:
    """Renders the office's templates for a case, as HTML or PDF, and says which of them can be
    issued now (``documents.yaml``)."""

    def __init__(self, settings: DocumentSettings | None = None,
                 org_name: Callable[[str], str] | None = None, *, orgs: OrgTree | None = None) -> None:
        self.settings = settings or DocumentSettings()
        self.orgs = orgs or OrgTree()
        self.org_name = org_name or self.orgs.name
        folders = [str(p) for p in (self.settings.template_dir, SHIPPED) if p is not None]
        self.rules: dict[str, IssueRule] = load_rules([SHIPPED, self.settings.template_dir])
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(folders, encoding="utf-8"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.ChainableUndefined,
        )
        self.env.filters["cn_date"] = cn_date
        self.env.filters["iso_date"] = iso_date
        self.env.filters["limit_label"] = limit_label
        self.env.filters["money"] = money
        self.env.filters["breakable"] = breakable

    def templates(self) -> list[str]:
        """The documents that can be rendered (override folder and shipped), by name."""
        names = {
            n[: -len(SUFFIX)] for n in self.env.list_templates() if n.endswith(SUFFIX) and "/" not in n
        }
        return sorted(n for n in names if _NAME.match(n))

    def title(self, name: str) -> str:
        rule = self.rules.get(name)
        return rule.title if rule is not None else TITLES.get(name, name)

    def _rule(self, name: str) -> IssueRule:
        return self.rules.get(name) or IssueRule(name=name, title=self.title(name), condition=None)

    def issuable(self, name: str, case: Case, definition: Definition,
                 events: Sequence[Event] = ()) -> Issuable:
        """Whether document ``name`` can be issued for the case now (TemplateNotFound when there is
        no such template)."""
        self._template(name)
        return check(self._rule(name), case, definition, events)

    def available(self, case: Case, definition: Definition, events: Sequence[Event] = ()) -> list[Issuable]:
        """The documents that can be issued for the case now, receipt first."""
        order = {n: i for i, n in enumerate(TITLES)}
        out = [check(self._rule(n), case, definition, events) for n in self.templates()]
        return sorted((x for x in out if x.ok), key=lambda x: (order.get(x.name, len(order)), x.name))

    def _template(self, name: str) -> jinja2.Template:
        if not _NAME.match(name or ""):
            raise TemplateNotFound(f"no document template {name!r}")
        try:
            return self.env.get_template(name + SUFFIX)
        except jinja2.TemplateNotFound:
            raise TemplateNotFound(f"no document template {name!r}") from None

    def html(self, name: str, case: Case, definition: Definition, *, events: Sequence[Event] = (),
             issued_on: date | None = None, extra: Mapping[str, Any] | None = None,
             check: bool = False) -> str:
        """The document as an HTML print view. ``check``: refuse (:class:`DocumentNotIssuable`) a
        document that cannot be issued now."""
        template = self._template(name)
        verdict = check_issue(self._rule(name), case, definition, events)
        if check and not verdict.ok:
            raise refusal(verdict, case)
        basis = verdict.event
        if issued_on is None and name != "receipt":
            # dated by the step that allows it (else the last step)
            last = basis or next((e for e in reversed(events) if e.kind == "transition"), None)
            issued_on = last.at.astimezone(TZ).date() if last is not None else None
        ctx = case_context(case, definition, events=events, settings=self.settings,
                           org_name=self.org_name, issued_on=issued_on, extra=extra, orgs=self.orgs,
                           basis=basis)
        ctx["title"] = self.title(name)
        ctx["template"] = name
        return template.render(ctx)

    def pdf(self, name: str, case: Case, definition: Definition, *, events: Sequence[Event] = (),
            issued_on: date | None = None, extra: Mapping[str, Any] | None = None,
            check: bool = False) -> bytes:
        page = self.html(name, case, definition, events=events, issued_on=issued_on, extra=extra, check=check)
        return html_to_pdf(page, title=f"{self.title(name)} {case.number}")

    def receipt(self, case: Case, definition: Definition, *, events: Sequence[Event] = (),
                fmt: str = "html") -> str | bytes:
        """The receipt (受理回执) given on opening: ``fmt`` is ``html`` or ``pdf``."""
        if fmt == "pdf":
            return self.pdf("receipt", case, definition, events=events)
        return self.html("receipt", case, definition, events=events)


check_issue = check  # ``html(check=...)`` shadows the name inside the method


# --- HTML (the templates' subset) → PDF -----------------------------------------------------------

_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "wbr"}
_SKIP = {"head", "style", "script", "title", "template"}
_BLOCK = {"h1", "h2", "h3", "h4", "p", "div", "table", "ul", "ol", "li", "hr", "section",
          "article", "header", "footer", "main", "body", "html", "dl", "dt", "dd", "blockquote"}
_INLINE_MAP = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "sup": "super", "sub": "sub"}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(page: str) -> _Node:
    t = _Tree()
    t.feed(page)
    t.close()
    return t.root


FONT = "STSong-Light"
_fonts_ready = False


def _fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    # one face only: bold and italic markup fall back to it instead of failing
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    _fonts_ready = True


def _styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=11.5, leading=19, wordWrap="CJK",
                          spaceAfter=5)
    return {
        "p": base,
        "h1": ParagraphStyle("h1", parent=base, fontSize=20, leading=28, alignment=TA_CENTER,
                             spaceAfter=12, spaceBefore=4),
        "h2": ParagraphStyle("h2", parent=base, fontSize=14, leading=22, spaceBefore=8, spaceAfter=6),
        "h3": ParagraphStyle("h3", parent=base, fontSize=12.5, leading=20, spaceBefore=6),
        "h4": ParagraphStyle("h4", parent=base, fontSize=12, leading=19, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10.5, leading=16, spaceAfter=0),
        "li": ParagraphStyle("li", parent=base, leftIndent=14, bulletIndent=2),
    }


class _Flow:
    """Walks the parsed page and builds reportlab flowables."""

    def __init__(self) -> None:
        self.styles = _styles()
        self.out: list[Any] = []

    def inline(self, node: _Node | str) -> str:
        if isinstance(node, str):
            return _esc(re.sub(r"\s+", " ", node), quote=False)
        if node.tag in _SKIP or "screen-only" in node.classes:
            return ""
        if node.tag == "br":
            return "<br/>"
        if node.tag == "wbr":  # a break after a separator (adapters/wrapping): reportlab breaks Latin runs at spaces only
            return " "
        inner = "".join(self.inline(c) for c in node.children)
        tag = _INLINE_MAP.get(node.tag)
        return f"<{tag}>{inner}</{tag}>" if tag and inner.strip() else inner

    def style(self, node: _Node, kind: str) -> Any:
        from reportlab.lib.enums import TA_CENTER, TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle

        st = self.styles.get(kind, self.styles["p"])
        align = node.attrs.get("style", "")
        if "center" in node.classes or "text-align:center" in align.replace(" ", ""):
            st = ParagraphStyle(f"{kind}-c", parent=st, alignment=TA_CENTER)
        elif "right" in node.classes or "text-align:right" in align.replace(" ", ""):
            st = ParagraphStyle(f"{kind}-r", parent=st, alignment=TA_RIGHT)
        return st

    def para(self, markup: str, style: Any, bullet: str | None = None) -> None:
        """One paragraph; a long one as several of at most CHUNK characters (see :func:`chunks`),
        without the space between them, so it reads as one."""
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import Paragraph

        text = markup.strip()
        while text.startswith("<br/>"):
            text = text[5:].lstrip()
        if not text:
            return
        parts = chunks(text)
        for i, part in enumerate(parts):
            st = style
            if len(parts) > 1:
                st = ParagraphStyle(f"{style.name}-{min(i, 1)}{int(i == len(parts) - 1)}", parent=style,
                                    spaceBefore=style.spaceBefore if i == 0 else 0,
                                    spaceAfter=style.spaceAfter if i == len(parts) - 1 else 0)
            self.out.append(Paragraph(part, st, bulletText=bullet if i == 0 else None))

    def block(self, node: _Node) -> None:
        if node.tag in _SKIP or "screen-only" in node.classes:
            return
        tag = node.tag
        if tag in ("h1", "h2", "h3", "h4"):
            self.para(self.inline(node), self.style(node, tag))
        elif tag == "hr":
            from reportlab.platypus import HRFlowable

            self.out.append(HRFlowable(width="100%", thickness=0.6, spaceBefore=4, spaceAfter=6))
        elif tag == "table":
            self.table(node)
        elif tag in ("ul", "ol"):
            n = 0
            for li in node.children:
                if isinstance(li, _Node) and li.tag == "li":
                    n += 1
                    bullet = f"{n}." if tag == "ol" else "•"
                    self.para(self.inline(li), self.styles["li"], bullet)
        else:
            self.mixed(node, "p" if tag == "p" else "p")

    def mixed(self, node: _Node, kind: str) -> None:
        """Children that are blocks become their own flowables; runs of inline content between
        them become paragraphs in the node's style."""
        run: list[str] = []
        style = self.style(node, kind)
        for child in node.children:
            if isinstance(child, _Node) and child.tag in _BLOCK:
                self.para("".join(run), style)
                run = []
                self.block(child)
            else:
                run.append(self.inline(child))
        self.para("".join(run), style)

    def table(self, node: _Node) -> None:
        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Table, TableStyle

        rows: list[list[Any]] = []
        head_rows = 0
        after: list[tuple[str, str]] = []  # (the row's label, a long cell's full text): after the table

        def cell(x: _Node, label: str) -> Any:
            markup = self.inline(x).strip()
            if len(markup) <= CELL_CHARS:
                return Paragraph(markup or " ", self.styles["cell"])
            after.append((label, markup))
            # a cell never splits across pages: a long one shows its start and the rest follows
            head = chunks(markup, CELL_CHARS)[0]
            return Paragraph(f"{head}……（全文见表后）", self.styles["cell"])

        def walk(n: _Node) -> None:
            nonlocal head_rows
            for c in n.children:
                if not isinstance(c, _Node) or "screen-only" in c.classes:
                    continue
                if c.tag in ("thead", "tbody", "tfoot"):
                    walk(c)
                elif c.tag == "tr":
                    cells = [x for x in c.children if isinstance(x, _Node) and x.tag in ("td", "th")]
                    if cells and all(x.tag == "th" for x in cells) and len(rows) == head_rows:
                        head_rows += 1
                    label = _plain(self.inline(cells[0]))[:40] if cells else ""
                    rows.append([cell(x, label) for x in cells])

        walk(node)
        if not rows:
            return
        width = max(len(r) for r in rows)
        for r in rows:
            r.extend(Paragraph(" ", self.styles["cell"]) for _ in range(width - len(r)))
        page_width = 170 * 72 / 25.4
        if width == 2 and not head_rows:
            widths = [page_width * 0.32, page_width * 0.68]
        else:
            widths = column_widths([[p.getPlainText() for p in r] for r in rows], page_width,
                                   self.styles["cell"].fontSize)
        t = Table(rows, colWidths=widths, repeatRows=head_rows)
        cmds = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
        if head_rows:
            cmds.append(("BACKGROUND", (0, 0), (-1, head_rows - 1), colors.HexColor("#eeeeee")))
        t.setStyle(TableStyle(cmds))
        self.out.append(t)
        from reportlab.platypus import Spacer

        self.out.append(Spacer(1, 6))
        for label, markup in after:
            self.para(f"<b>{label}（全文）</b>：{markup}" if label else markup, self.styles["p"])


_PAD = 12.0  # a cell's left and right padding, points

# reportlab lays a paragraph that runs over a page out again for each page, measuring every
# character left each time: time grows with the square of its length (32,000 characters of 延期理由:
# 4 s; 340,000: not done in 400 s). Cut into paragraphs of at most CHUNK characters (under a page)
# the cost grows with the length (docs/performance.md, "Long text in documents").
CHUNK = 1000
CELL_CHARS = 600  # a table cell's most characters (a cell taller than a page cannot be laid out)
MAX_PDF_CHARS = 200_000  # a page's markup beyond this is refused (DocumentTooLarge), not laid out
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]+|[<&]")
_BREAK_AFTER = "。；;，,、 ！？!?）)"


def _plain(markup: str) -> str:
    return re.sub(r"<[^>]*>", "", markup).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def chunks(markup: str, size: int = CHUNK) -> list[str]:
    """Paragraph markup (text, entities, the inline tags of :meth:`_Flow.inline`) cut into pieces of
    at most ``size`` characters of text, after a punctuation mark where one is near; a tag open
    at a cut is closed before it and opened again after. Short markup is returned whole."""
    if len(markup) <= size:
        return [markup]
    out: list[str] = []
    cur: list[str] = []
    opened: list[str] = []  # the open tags' names
    count = 0

    def cut() -> None:
        nonlocal cur, count
        out.append("".join(cur) + "".join(f"</{t}>" for t in reversed(opened)))
        cur = [f"<{t}>" for t in opened]
        count = 0

    for token in _TOKEN.findall(markup):
        if token.startswith("<") and len(token) > 1:
            name = token.strip("</>").split()[0] if token.strip("</>") else ""
            if token.startswith("</"):
                if name in opened:
                    opened.remove(name)
            elif not token.endswith("/>"):
                opened.append(name)
            cur.append(token)
            if token == "<br/>" and count >= size // 2:
                cut()
            continue
        if token.startswith("&") and len(token) > 1:
            if count + 1 > size:
                cut()
            cur.append(token)
            count += 1
            continue
        while count + len(token) > size:
            room = size - count
            at = max(token.rfind(ch, 0, room) for ch in _BREAK_AFTER) + 1
            if at < room // 2:
                at = room
            if at > 0:
                cur.append(token[:at])
            token = token[at:]
            cut()
        cur.append(token)
        count += len(token)
    rest = "".join(cur)
    if _plain(rest).strip():
        out.append(rest)
    return out or [markup]


def column_widths(texts: list[list[str]], total: float, size: float) -> list[float]:
    """Widths of a table's columns on a page ``total`` points wide: each column first gets what
    its longest cell needs on one line, up to an equal share; what is left goes to the columns
    that need more, in proportion to what they lack. So a short column (a date, a number) never
    wraps into a column of one character while a long one (names, reasons) takes the room."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    n = max(len(r) for r in texts)
    need = [0.0] * n
    for row in texts:
        for i, text in enumerate(row):
            need[i] = max(need[i], stringWidth(text.strip(), FONT, size) + _PAD)
    share = total / n
    widths = [min(w, share) for w in need]
    left = total - sum(widths)
    lacking = [max(0.0, w - g) for w, g in zip(need, widths, strict=True)]
    if sum(lacking) > 0:
        widths = [g + left * lack / sum(lacking) if lack else g
                  for g, lack in zip(widths, lacking, strict=True)]
        widths = [min(g, w) for g, w in zip(widths, need, strict=True)]
    spare = total - sum(widths)
    if spare > 0.01:  # everything fits on one line: spread the rest evenly
        widths = [g + spare / n for g in widths]
    return widths


def html_to_pdf(page: str, *, title: str = "") -> bytes:
    """Lay out a page written in the templates' HTML subset as an A4 PDF."""
    _fonts()
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    if len(page) > MAX_PDF_CHARS:
        raise DocumentTooLarge(len(page))
    root = _parse(page)
    body = _find(root, "body") or root
    flow = _Flow()
    flow.mixed(body, "p")
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=22 * mm, bottomMargin=20 * mm, title=title,
                            author="caseclock", creator="caseclock")
    doc.build(flow.out or [])
    return buf.getvalue()


def _find(node: _Node, tag: str) -> _Node | None:
    for c in node.children:
        if isinstance(c, _Node):
            if c.tag == tag:
                return c
            hit = _find(c, tag)
            if hit is not None:
                return hit
    return None


__all__ = [
    "DocumentNotIssuable",
    "DocumentRenderer",
    "DocumentSettings",
    "DocumentTooLarge",
    "Issuable",
    "SHIPPED",
    "TITLES",
    "TemplateNotFound",
    "case_context",
    "cn_date",
    "html_to_pdf",
    "iso_date",
    "limit_label",
    "money",
    "print_label",
]
