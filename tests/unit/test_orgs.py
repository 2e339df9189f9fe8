"""The org tree: Hubei by default (the province over the 17 units the seed addresses);
configurable; an actor acts on its org and every org under it."""

from __future__ import annotations

import pytest

from workflow import OrgTree

UNITS = {
    "420100": "武汉市", "420200": "黄石市", "420300": "十堰市", "420500": "宜昌市",
    "420600": "襄阳市", "420700": "鄂州市", "420800": "荆门市", "420900": "孝感市",
    "421000": "荆州市", "421100": "黄冈市", "421200": "咸宁市", "421300": "随州市",
    "422800": "恩施土家族苗族自治州", "429004": "仙桃市", "429005": "潜江市", "429006": "天门市",
    "429021": "神农架林区",
}


def test_the_default_tree_is_hubei():
    tree = OrgTree()
    assert len(UNITS) == 17
    assert {o.code for o in tree} == {"420000", *UNITS}
    assert tree.parent("420000") is None
    for code, name in UNITS.items():
        assert tree.parent(code) == "420000"
        assert tree.name(code) == name
    assert tree.subtree("420000") == frozenset({"420000", *UNITS})


def test_scope():
    tree = OrgTree()
    assert tree.covers("420000", "420500")
    assert tree.covers("420100", "420100")
    assert not tree.covers("420100", "420500")
    assert not tree.covers("420500", "420000")
    assert tree.subtree("420100") == frozenset({"420100"})
    assert tree.subtree("999999") == frozenset()
    assert not tree.covers("999999", "420100")
    assert "420100" in tree and "999999" not in tree
    assert tree.ancestors("420500") == ["420000"]


def test_a_configured_tree_with_districts():
    tree = OrgTree.from_rows([
        {"code": "420000", "name": "省局", "parent": None},
        {"code": "420100", "name": "武汉", "parent": "420000"},
        {"code": "420102", "name": "江岸区", "parent": "420100"},
        {"code": "420103", "name": "江汉区", "parent": "420100"},
    ])
    assert tree.subtree("420100") == frozenset({"420100", "420102", "420103"})
    assert tree.covers("420000", "420103")
    assert not tree.covers("420102", "420103")
    assert tree.ancestors("420102") == ["420100", "420000"]


def test_an_unknown_parent_is_refused():
    with pytest.raises(ValueError):
        OrgTree({"420100": ("武汉", "missing")})


def test_engine_scope_follows_a_configured_tree():
    from tests.engine_support import make_engine
    from workflow import Actor, errors

    tree = OrgTree({"1": ("省", None), "11": ("市", "1"), "111": ("区", "11"), "12": ("另一市", "1")})
    engine = make_engine(orgs=tree)
    district = Actor("d", {"clerk"}, "111")
    city = Actor("c", {"clerk"}, "11")
    other = Actor("o", {"clerk"}, "12")
    case = engine.open_case("fx_filing", actor=district)
    assert engine.get_case(case.id, actor=city).org == "111"
    with pytest.raises(errors.CaseNotFound):
        engine.get_case(case.id, actor=other)
    with pytest.raises(errors.CaseNotFound):
        engine.fire(case.id, "accept", actor=other)
    assert engine.fire(case.id, "accept", actor=city).state == "under_review"
    with pytest.raises(errors.WorkflowError):  # 420100 is not in this tree
        engine.open_case("fx_filing", actor=Actor("x", {"clerk"}, "1"), org="420100")
