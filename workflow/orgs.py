"""The org tree: actors act on cases of their org or any org under it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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


@dataclass(frozen=True)
class Org:
    code: str
    name: str
    parent: str | None


class OrgTree:
    """Orgs by code with their parents. ``OrgTree()`` is Hubei: the province over its 17 units."""

    def __init__(self, orgs: Mapping[str, tuple[str, str | None]] | None = None) -> None:
        src = HUBEI if orgs is None else orgs
        self._orgs = {code: Org(code, name, parent) for code, (name, parent) in src.items()}
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
        return cls({str(r["code"]): (str(r.get("name") or r["code"]), r.get("parent")) for r in rows})
