"""The pages: sign-in, the clerk's worklist and case page, the supervisors' board, breaches,
charts, monthly report and calendar, and the definitions — all under ``/web``, in Chinese, with
every script and style served from ``api/static`` (no CDN).

This module assembles the pages' routers into the one ``router`` the app includes; the pages
themselves live by area in ``pages_signin``, ``pages_worklist``, ``pages_open``, ``pages_case``
and ``pages_office``, what they share in ``common``. The order matters: ``/web/cases/new``
(opening) is matched before ``/web/cases/{case_id}`` (the case page).
"""

from __future__ import annotations

from fastapi import APIRouter

from . import pages_case, pages_office, pages_open, pages_signin, pages_worklist
from .common import SESSION_COOKIE

router = APIRouter(include_in_schema=False)
for _pages in (pages_signin, pages_worklist, pages_open, pages_case, pages_office):
    # the pages' routes themselves, in this order: one flat router, as the app always included
    router.routes.extend(_pages.router.routes)

__all__ = ["SESSION_COOKIE", "router"]
