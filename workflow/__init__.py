"""caseclock's engine core: definitions, legal time, cases and the ``Engine`` use cases.

Pure: imports nothing from ``adapters`` or ``api``, never reads the wall clock itself, never opens
a database, a socket or a scheduler. Build an engine with ``adapters.build_engine``.
"""

from . import errors
from .calendar import WorkingCalendar
from .definition import Definition
from .engine import Engine, EngineSettings
from .escalation import EscalationPolicy
from .legaltime import TZ, ClockKind, Level, Sla, Status
from .limits import Limit, Unit
from .model import SYSTEM, Actor, Case, Clock, Deadline, Escalation, Event
from .orgs import OrgTree
from .ports import CaseQuery, Store, UnitOfWork

__all__ = [
    "SYSTEM",
    "TZ",
    "Actor",
    "Case",
    "CaseQuery",
    "Clock",
    "ClockKind",
    "Deadline",
    "Definition",
    "Engine",
    "EngineSettings",
    "EscalationPolicy",
    "Escalation",
    "Event",
    "Level",
    "Limit",
    "OrgTree",
    "Sla",
    "Status",
    "Store",
    "Unit",
    "UnitOfWork",
    "WorkingCalendar",
    "errors",
]
