"""One exception tree for everything the engine refuses.

::

    WorkflowError                      root: catch this to catch everything caseclock raises
    ├── DefinitionError                a definition or override file is invalid (file, path, every problem)
    ├── CalendarError                  a calendar file is invalid, or a year is unknown in strict mode
    ├── UnknownItem                    no definition with that id (or version)
    ├── CaseNotFound                   no such case, or it lies outside the caller's org subtree
    ├── TransitionNotAllowed           unknown trigger, not allowed in this state, extension refused
    ├── Forbidden                      the actor lacks the role
    ├── MissingData                    required data fields are absent or invalid
    │   └── InvalidData                a value breaks its field's rule (range, date, names)
    ├── VersionConflict                expected version is stale, or a concurrent writer won
    └── IdempotencyMismatch            an idempotency key reused for a different call

The API maps each class to one HTTP status in a single handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class WorkflowError(Exception):
    """Root of every error caseclock raises on purpose."""

    code = "workflow_error"


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where (path of keys, line when known) and what. ``file``
    names the file when the error gathers the problems of several."""

    path: str
    message: str
    line: int | None = None
    file: str | None = None

    def __str__(self) -> str:
        where = self.path or "<root>"
        if self.line is not None:
            where = f"line {self.line}: {where}"
        if self.file:
            where = f"{self.file}: {where}"
        return f"{where}: {self.message}"


class DefinitionError(WorkflowError):
    """A definition (or override) file is invalid. Lists every problem found, not only the first."""

    code = "definition_invalid"

    def __init__(self, source: str, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        self.source = source
        self.problems: list[Problem] = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")

    @classmethod
    def gather(cls, problems: Iterable[Problem]) -> DefinitionError:
        """One error for problems that each name their ``file``: named after that file when
        there is one, else after how many files there are."""
        from dataclasses import replace

        found = list(problems)
        files = {p.file for p in found}
        if len(files) == 1:
            return cls(next(iter(files)) or "definitions", [replace(p, file=None) for p in found])
        return cls(f"{len(files)} definition files", found)


class CalendarError(WorkflowError):
    """A calendar override file is invalid, or a date falls in an unknown year in strict mode."""

    code = "calendar_error"


class UnknownItem(WorkflowError):
    code = "unknown_item"


class CaseNotFound(WorkflowError):
    code = "case_not_found"


class TransitionNotAllowed(WorkflowError):
    code = "transition_not_allowed"


class Forbidden(WorkflowError):
    code = "forbidden"


class MissingData(WorkflowError):
    """Required data is missing or has the wrong type. ``fields`` maps each field to its problem."""

    code = "missing_data"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        self.fields = dict(fields or {})
        super().__init__(message)


class InvalidData(MissingData):
    """Data breaks a field rule of its definition (a date out of range or after today, an amount
    past its bound, a 合议组 of an even number): ``fields`` maps each field at fault to its problem
    (required fields still absent are named there too)."""

    code = "invalid_data"


class VersionConflict(WorkflowError):
    code = "version_conflict"


class IdempotencyMismatch(WorkflowError):
    """An idempotency key was reused for a different call."""

    code = "idempotency_mismatch"


__all__ = [
    "CalendarError",
    "CaseNotFound",
    "DefinitionError",
    "Forbidden",
    "IdempotencyMismatch",
    "InvalidData",
    "MissingData",
    "Problem",
    "TransitionNotAllowed",
    "UnknownItem",
    "VersionConflict",
    "WorkflowError",
]
