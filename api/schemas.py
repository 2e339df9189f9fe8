"""Request and response shapes, for validation and for an accurate OpenAPI document.

Responses are written straight from the library's ``to_dict()`` (no re-validation on the hot
path); these models describe them. A case in JSON mirrors :class:`workflow.Case`; new fields may
appear (clients ignore what they do not know).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SlaLevel = Literal[
    "on_track", "warning", "overdue", "over_statutory", "expired", "met", "met_late",
    "met_over_statutory", "deemed_accepted", "overrun", "withdrawn",
]


TEXT = r"^[^\x00]*$"  # text parameters: anything but NUL (no database stores it in a text column)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- requests ------------------------------------------------------------------------------------


class CaseCreate(BaseModel):
    """Open a case of an item (the newest version of its definition)."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128, pattern=TEXT, examples=["patent_pledge_registration"])
    data: dict[str, Any] = Field(default_factory=dict, examples=[{
        "request_type": "registration", "channel": "online", "pledgor": "武汉某科技有限公司",
        "pledgee": "某银行武汉分行", "patent_numbers": "ZL202310000001.X",
    }])
    org: str | None = Field(default=None, max_length=64, pattern=TEXT, description="default: the caller's org")
    started_on: date | None = Field(default=None, description="back-dated legal start (needs reason)")
    reason: str | None = Field(default=None, max_length=2000, pattern=TEXT)
    assignee: str | None = Field(default=None, max_length=128, pattern=TEXT)


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] = Field(default_factory=dict, examples=[{"supplement_items": "缺少质押合同原件"}])


class CalendarOverrideIn(BaseModel):
    """One year's State Council notice (国务院办公厅关于…节假日安排的通知)."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1901, le=2199)
    source: str = Field(min_length=1, max_length=500, pattern=TEXT)
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list, description="weekend days made working days (调休)")


# --- responses -----------------------------------------------------------------------------------


class ClockOut(_Open):
    name: str
    label: str
    kind: str = Field(description="office | party | external | notice (一次性告知) | special (a 特别程序's expected time)")
    status: str = Field(description="not_started | running | paused | stopped")
    statutory_due: str | None = Field(description="YYYY-MM-DD: the statutory last day (a special clock: the expected last day of the procedure)")
    commitment_due: str | None = Field(description="YYYY-MM-DD: the committed (承诺) last day")
    sla: SlaLevel
    provisional: bool = Field(description="counted on a year with no official calendar yet")
    statutory_provisional: bool = Field(False, description="statutory_due is provisional (暂定)")
    commitment_provisional: bool = Field(False, description="commitment_due (and warning_at) is provisional")
    expiry_provisional: bool = Field(False, description="party/external: expires_at is provisional")
    awaiting_calendar: bool = Field(
        False, description="the party's period ran out on a provisional last day: on_expire waits "
        "for the year's calendar or POST …/clocks/{clock}/confirm-expiry")
    party: bool
    external: bool
    limit: str
    started_on: str | None = None
    stopped_on: str | None = None
    statutory_units: int | None = None
    commitment_units: int | None = None
    used_units: int = 0
    remaining_units: int | None = None
    unit: str = "working_days"
    warning_at: str | None = None
    overdue_at: str | None = None
    over_statutory_at: str | None = None
    expires_at: str | None = None
    extensions: list[str] = []
    paused_spans: list[list[str | None]] = []
    run: int = 0


class CaseOut(_Open):
    id: str
    number: str
    item_id: str
    definition_version: int
    state: str
    version: int = Field(description="the ETag; send it back in If-Match")
    org: str
    assignee: str | None
    data: dict[str, Any]
    clocks: dict[str, ClockOut]
    item_name: str = ""
    kind: str = "service_item"
    state_label: str = ""
    final: bool = False
    sla: SlaLevel = "on_track"
    opened_at: str
    closed_at: str | None = None
    started_on: str | None = None
    parent_id: str | None = None
    children: list[str] = []
    main_clock: str | None = None


class CasePage(BaseModel):
    items: list[CaseOut]
    next: str | None = Field(description="cursor for the next page (null on the last)")


class EventOut(_Open):
    case_id: str
    seq: int
    kind: str
    trigger: str | None
    actor_id: str
    at: str
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class EventPage(BaseModel):
    items: list[EventOut]
    next: str | None


class FieldOut(BaseModel):
    name: str
    type: str
    label: str
    required: bool
    choices: list[str]
    rules: dict[str, Any] = Field(default_factory=dict, description=(
        "the field's rules (docs/definitions.md, Field rules): min, max (numbers; dates as YYYY-MM-DD), "
        "past (a date of service or receipt), names {min, max, odd}, max_length (the most characters of a "
        "string or text field, declared or its type's default: always listed); absent keys: the type's own bounds"))


class TriggerOut(BaseModel):
    trigger: str
    label: str
    dest: str
    dest_label: str
    roles: list[str]
    requires: list[str]
    fields: list[FieldOut]
    extends: dict[str, str]


class TriggerPage(BaseModel):
    items: list[TriggerOut]
    next: str | None
    triggers: list[str] = Field(description="the trigger names alone, in the same order")


class BoardRow(BaseModel):
    org: str
    org_name: str
    item_id: str
    item_name: str
    on_track: int
    warning: int
    overdue: int
    over_statutory: int
    expired: int
    deemed_accepted: int = Field(0, description="open cases deemed accepted: no 一次性告知 within its period (第三十二条)")
    total: int


class Board(BaseModel):
    items: list[BoardRow]
    next: str | None
    totals: dict[str, int]
    orders: dict[str, int] = Field(default_factory=dict,
                                   description="督办 awaiting a reply in the scope (open) and, of those, past "
                                               "their last day (overdue)")
    as_of: str


class DefinitionSummary(_Open):
    id: str
    version: int
    name: str
    kind: str
    legal_basis: list[str]
    initial: str
    main_clock: str | None
    states: int
    transitions: int
    clocks: dict[str, str]


class DefinitionPage(BaseModel):
    items: list[DefinitionSummary]
    next: str | None


class DefinitionOut(_Open):
    id: str
    version: int
    name: str
    kind: str
    legal_basis: list[str]
    description: str
    initial: str
    main_clock: str | None
    commitment_ratio: str
    open_roles: list[str]
    fields: list[FieldOut]
    states: dict[str, dict[str, Any]]
    transitions: list[dict[str, Any]]
    clocks: dict[str, dict[str, Any]]
    children: list[str]
    versions: list[int]
    escalation: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="the escalation ladder in force (docs/escalation.md): per level warning / overdue / "
        "over_statutory its label, notify (names the definition or the office's override set, null: the "
        "engine's policy), audience (the targets told), and for warning before_commitment or "
        "share_of_commitment, for the others remind and reassign_to; default: nothing set")


class CalendarOut(_Open):
    years: dict[str, str] = Field(description="year → official | override | provisional")
    known: list[int]
    provisional: list[int]
    overridden: list[int]
    overrides: dict[str, str]
    strict: bool
    warnings: list[str]
    provisional_cases: dict[str, Any] = Field(
        default_factory=dict,
        description="open cases (in your orgs) carrying provisional dates: open_cases, by_year "
        "(year of the latest provisional date → cases), awaiting_calendar")


class CalendarLoaded(BaseModel):
    year: int
    source: str
    recomputed: list[str] = Field(description="ids of the open cases whose deadlines changed")
    calendar: CalendarOut
    warnings: list[str] = Field(
        default_factory=list,
        description="statutory holidays (《全国年节及纪念日放假办法》第二条) the notice leaves working "
        "days: loaded as given")


class ConfirmExpiryIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the period is held to have run out")


class Health(_Open):
    status: str
    time: str
    store: str
    definitions: int
    calendar_warnings: list[str]


class Problem(_Open):
    """RFC 9457 problem details; ``field`` / ``fields`` / ``rule`` name what is at fault."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    field: str | None = None
    rule: str | None = None
    fields: dict[str, str] | None = None
    errors: list[dict[str, Any]] | None = None
    current_version: int | None = None
    retry_after: int | None = None  # 429: seconds until the limit lets the request through


_PROBLEM_TITLES = {
    400: "Bad request: a malformed header, query parameter or body (names the field)",
    401: "No token, or an unknown, expired or revoked one",
    403: "The caller lacks the role",
    404: "No such case, item or definition (or outside the caller's org)",
    409: "Transition not allowed here, a concurrent change won, or an idempotency key reused",
    412: "If-Match names another version of the case",
    422: "Required data missing or invalid (``fields`` names each)",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem documents a route can return."""
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        code: {"description": _PROBLEM_TITLES[code], "content": {"application/problem+json": {"schema": ref}}}
        for code in codes
    }
