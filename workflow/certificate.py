"""颁发、送达行政许可证件 (行政许可法第四十四条): the certificate step after a decision to grant.

"行政机关作出准予行政许可的决定，应当自作出决定之日起十日内向申请人颁发、送达行政许可证件" —
working days (第八十二条). Where the certificate follows the grant as an act of its own, the
definition gives the grant a state to lead to, the step in which the certificate is made out and
served, and marks it::

    states:
      certifying: {label: 准予许可待发证, roles: [clerk], certificate: true}

The state's step clock (a state's ``limit``: started on entering, stopped on leaving, escalated
like any office clock) then defaults to the article: 10 working days, basis 第四十四条, status
``verified``. A state may write a shorter ``limit`` where a special rule sets one; never a longer
one, nor one in other days. The state is not final: the case closes when the certificate is issued.

Where the decision and the notice are one act (a registration whose 准予登记 issues its notice),
the decision's state stays final and no step is added: nothing is declared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .limits import Limit, Unit, within_working_days

KEY = "certificate"
LIMIT = Limit(10, Unit.WORKING_DAYS)
STATUS = "verified"
BASIS = ("《中华人民共和国行政许可法》第四十四条：行政机关作出准予行政许可的决定，应当自作出决定之日起十日内"
         "向申请人颁发、送达行政许可证件；第八十二条：期限以工作日计算，不含法定节假日")


def step_terms(raw: Mapping[str, Any], limit: Limit | None, path: str,
               add: Callable[[str, str], None]) -> tuple[Limit | None, str | None, str | None]:
    """The (limit, limit_status, basis) of a state ``raw`` (already read: its ``limit``); a state
    marked ``certificate: true`` gets the article's where it writes none. Problems go to ``add``."""
    status, basis = raw.get("limit_status"), raw.get("basis")
    mark = raw.get(KEY, False)
    if not isinstance(mark, bool):
        add(f"{path}.{KEY}", f"certificate is true or false, got {mark!r}")
        return limit, status, basis
    if not mark:
        return limit, status, basis
    if raw.get("final"):
        add(f"{path}.{KEY}", "the certificate step is not final: the case closes when the certificate is issued")
    if limit is not None and not within_working_days(limit, LIMIT):
        add(f"{path}.limit", f"a certificate step is at most {LIMIT} (行政许可法第四十四条, 第八十二条), got {limit}")
    elif limit is not None and basis is None:
        add(f"{path}.basis", f"a certificate step shorter than {LIMIT} names the special rule that sets it in basis")
    return (limit or LIMIT), (status if status is not None else STATUS), (basis if basis is not None else BASIS)


__all__ = ["BASIS", "KEY", "LIMIT", "STATUS", "step_terms"]
