"""Loaded definitions by (id, version), each compiled once into a shared transitions Machine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from transitions import Machine, MachineError

from .definition import ClockDef, Definition, iter_files, load_file
from .errors import DefinitionError, Problem, UnknownItem
from .legaltime import commitment_for


class _Token:
    """The plain object a shared Machine fires on: just a ``state`` attribute."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledMachine:
    """One flat ``Machine(model=None, auto_transitions=False)`` per definition version, shared by
    every case of it (DESIGN: a Machine per case grows with the number of cases)."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in definition.transitions
            ],
            initial=definition.initial,
            auto_transitions=False,
            send_event=False,
        )
        self._next: dict[tuple[str, str], str | None] = {}  # bounded: states × triggers

    def next_state(self, state: str, trigger: str) -> str | None:
        """The state ``trigger`` leads to from ``state``, or None where it is not allowed. The
        machine has no conditions or callbacks (guards are the engine's), so its answer depends on
        the pair alone: it is asked once per pair and the answer kept."""
        key = (state, trigger)
        try:
            return self._next[key]
        except KeyError:
            pass
        event = self.machine.events.get(trigger)
        if event is None or state not in self.machine.states:
            return None  # not kept: the cache holds the definition's own pairs only
        token = _Token(state)
        try:
            event.trigger(token)
            dest: str | None = token.state
        except MachineError:
            dest = None
        self._next[key] = dest
        return dest


class Registry:
    """Definitions by id and version; the newest version of an id is the one new cases use."""

    def __init__(self) -> None:
        self._defs: dict[tuple[str, int], Definition] = {}
        self._machines: dict[tuple[str, int], CompiledMachine] = {}

    def add(self, definition: Definition) -> None:
        old = self._defs.get(definition.key)
        if old is not None and old.content_hash != definition.content_hash:
            raise DefinitionError(definition.source, [definition.problem(
                "version", f"{definition.id} version {definition.version} is already loaded from "
                f"{old.source} with different content: a changed rule needs a new version")])
        self._defs[definition.key] = definition
        self._machines.pop(definition.key, None)

    def _staged(self) -> Registry:
        """A copy to load into: it replaces this registry only when the whole load passed."""
        copy = Registry()
        copy._defs = dict(self._defs)
        return copy

    def _take(self, staged: Registry) -> None:
        for key in set(self._defs) | set(staged._defs):
            if self._defs.get(key) is not staged._defs.get(key):
                self._machines.pop(key, None)
        self._defs = staged._defs

    def load(self, paths: Iterable[str | Path]) -> list[Definition]:
        """Load files and folders, all or nothing: every problem of every file (and the checks
        across files) is reported together, and a refused load leaves the registry as it was."""
        staged = self._staged()
        loaded: list[Definition] = []
        problems: list[Problem] = []
        for f in _files(tuple(paths), problems):
            try:
                d = load_file(f)
            except DefinitionError as exc:
                problems += _of_file(exc)
                continue
            try:
                staged.add(d)
            except DefinitionError as exc:
                problems += _of_file(exc)
                continue
            loaded.append(d)
        problems += staged._check()
        _raise(problems)
        self._take(staged)
        return loaded

    def finish(self) -> None:
        """Cross-file checks: bundle children exist; a bundle with no clock gets one as long as
        its longest child's main clock."""
        _raise(self._check())

    def _check(self) -> list[Problem]:
        problems: list[Problem] = []
        for key, d in list(self._defs.items()):
            if d.kind != "bundle":
                continue
            missing = [d.problem("children", f"unknown child item {c!r}") for c in d.children if not self.has(c)]
            if missing:
                problems += missing
                continue
            if not any(not c.step for c in d.clocks.values()):
                longest = None
                for child_id in d.children:
                    child = self.get(child_id)
                    main = child.main_clock
                    if main is None:
                        continue
                    c = child.clocks[main]
                    lim = c.limit_choice.longest if c.limit_choice else c.limit
                    if longest is None or commitment_for(lim, Fraction(1)) > commitment_for(longest, Fraction(1)):
                        longest = lim
                if longest is not None:
                    clock = ClockDef(
                        name="handling", limit=longest, start=d.initial, stop=d.final_states,
                        label="一次办时限", main=True, status="office",
                        basis="一件事一次办：与最长的子事项时限相同",
                    )
                    self._defs[key] = replace(d, clocks={**d.clocks, "handling": clock})
                    self._machines.pop(key, None)
        return problems

    def apply_overrides(self, paths: Iterable[str | Path]) -> list[Definition]:
        """Apply an office's override files (see ``workflow.overrides``), all or nothing. An
        override with a ``version`` publishes a new version (running cases keep theirs); without
        one it replaces the version it changes."""
        from .overrides import apply_override, read_override

        staged = self._staged()
        out: list[Definition] = []
        problems: list[Problem] = []
        for f in _files(tuple(paths), problems):
            try:
                data, source = read_override(f)
                try:
                    base = staged.get(data["override"], data.get("base_version"))
                except UnknownItem as exc:
                    raise DefinitionError(source, [Problem("override", str(exc), 1)]) from None
                result = apply_override(base, data, source)
                if result.key == base.key:
                    staged._defs[base.key] = result
                else:
                    staged.add(result)
            except DefinitionError as exc:
                problems += _of_file(exc)
                continue
            out.append(result)
        problems += staged._check()
        _raise(problems)
        self._take(staged)
        return out

    def has(self, item_id: str) -> bool:
        return any(k[0] == item_id for k in self._defs)

    def get(self, item_id: str, version: int | None = None) -> Definition:
        if version is None:
            versions = [v for (i, v) in self._defs if i == item_id]
            if not versions:
                raise UnknownItem(f"no definition {item_id!r}")
            version = max(versions)
        d = self._defs.get((item_id, version))
        if d is None:
            raise UnknownItem(f"no definition {item_id!r} version {version}")
        return d

    def machine(self, item_id: str, version: int) -> CompiledMachine:
        key = (item_id, version)
        m = self._machines.get(key)
        if m is None:
            m = self._machines[key] = CompiledMachine(self.get(item_id, version))
        return m

    def all(self) -> list[Definition]:
        return [self._defs[k] for k in sorted(self._defs)]

    def latest(self) -> list[Definition]:
        out: dict[str, Definition] = {}
        for (i, _v), d in sorted(self._defs.items()):
            out[i] = d
        return list(out.values())

    def raw(self) -> dict[tuple[str, int], dict[str, Any]]:
        return {k: dict(d.raw) for k, d in self._defs.items()}


def _files(paths: tuple[str | Path, ...], problems: list[Problem]) -> list[Path]:
    """The YAML files of ``paths``; a path that does not exist is a problem, the others go on."""
    out: list[Path] = []
    for p in paths:
        try:
            out += list(iter_files((p,)))
        except DefinitionError as exc:
            problems += _of_file(exc)
    return out


def _of_file(exc: DefinitionError) -> list[Problem]:
    """The error's problems, each naming its file."""
    return [p if p.file else replace(p, file=exc.source) for p in exc.problems]


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise DefinitionError.gather(problems)
