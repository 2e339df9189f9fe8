"""The org tree: actors act on cases of their org or any org under it.

Each org has a short ``name`` (what lists and boards show: 武汉市), an ``official_name`` (the
issuing authority printed on its documents: 武汉市知识产权局) and the ``seal`` text of its
official seal (印章; by default the official name). A case's documents are issued in the name of
the case's org, never of the province for a city's case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

HUBEI: dict[str, tuple[str, str | None]] = {
    "420000": ("湖北省知识产权局", None),
    "420100": ("武汉市", "420000"),
    "420200": ("黄石市", "420000"),
    "420300": ("十堰市", "420000"),
    "420500": ("宜昌市", "420000"),
    "420600": ("襄阳市", "420000"),
    "420700": ("鄂州市", "420000"),
    "420800": ("荆门市", "420000"),
    "420900": ("孝感市", "420000"),
    "421000": ("荆州市", "420000"),
    "421100": ("黄冈市", "420000"),
    "421200": ("咸宁市", "420000"),
    "421300": ("随州市", "420000"),
    "422800": ("恩施土家族苗族自治州", "420000"),
    "429004": ("仙桃市", "420000"),
    "429005": ("潜江市", "420000"),
    "429006": ("天门市", "420000"),
    "429021": ("神农架林区", "420000"),
}


# The issuing authority of each Hubei unit where it is not "<name>知识产权局".
HUBEI_OFFICIAL: dict[str, str] = {"420000": "湖北省知识产权局"}


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    parent: str | None
    official_name: str = ""  # the issuing authority (default: ``name`` + 知识产权局)
    seal: str = ""  # the text of its official seal (default: the official name)

    @property
    def authority(self) -> str:
        """The name documents are issued in."""
        if self.official_name:
            return self.official_name
        return self.name if self.name.endswith("知识产权局") else f"{self.name}知识产权局"

    @property
    def seal_text(self) -> str:
        return self.seal or self.authority


class OrgTree:
    """Orgs by code with their parents. ``OrgTree()`` is Hubei: the province over its 17 units.

    ``orgs`` maps a code to ``(name, parent)`` or ``(name, parent, official_name, seal)``."""

    def __init__(self, orgs: Mapping[str, Sequence[str | None]] | None = None) -> None:
        src: Mapping[str, Sequence[str | None]] = HUBEI if orgs is None else orgs
        official = HUBEI_OFFICIAL if orgs is None else {}
        self._orgs: dict[str, Org] = {}
        for code, row in src.items():
            name, parent, *rest = row
            self._orgs[code] = Org(code, str(name), parent,
                                   str(rest[0] or "") if rest else official.get(code, ""),
                                   str(rest[1] or "") if len(rest) > 1 else "")
        for o in self._orgs.values():
            if o.parent is not None and o.parent not in self._orgs:
                raise ValueError(f"org {o.code}: unknown parent {o.parent}")
        self._below: dict[str, frozenset[str]] = {}

    def __contains__(self, code: object) -> bool:
        return code in self._orgs

    def __iter__(self) -> Iterator[Org]:
        return iter(self._orgs.values())

    def get(self, code: str) -> Org | None:
        return self._orgs.get(code)

    def name(self, code: str) -> str:
        o = self._orgs.get(code)
        return o.name if o else code

    def authority(self, code: str) -> str:
        """The official name documents of the org's cases are issued in (the code if unknown)."""
        o = self._orgs.get(code)
        return o.authority if o else code

    def seal(self, code: str) -> str:
        """The text of the org's official seal."""
        o = self._orgs.get(code)
        return o.seal_text if o else code

    def parent(self, code: str) -> str | None:
        o = self._orgs.get(code)
        return o.parent if o else None

    def subtree(self, code: str) -> frozenset[str]:
        """The org and every org under it."""
        cached = self._below.get(code)
        if cached is not None:
            return cached
        out = {code}
        changed = True
        while changed:
            changed = False
            for o in self._orgs.values():
                if o.parent in out and o.code not in out:
                    out.add(o.code)
                    changed = True
        result = frozenset(out) if code in self._orgs else frozenset()
        self._below[code] = result
        return result

    def covers(self, actor_org: str, case_org: str) -> bool:
        return case_org in self.subtree(actor_org)

    def ancestors(self, code: str) -> list[str]:
        out, cur = [], self.parent(code)
        while cur is not None:
            out.append(cur)
            cur = self.parent(cur)
        return out

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | None]]) -> OrgTree:
        """Rows with ``code``, ``name``, ``parent`` and optionally ``official_name``, ``seal``."""
        return cls({str(r["code"]): (str(r.get("name") or r["code"]), r.get("parent"),
                                     r.get("official_name") or "", r.get("seal") or "") for r in rows})
