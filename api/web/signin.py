"""Who may try a password now: the sign-in form's throttle, and the cookies' Secure flag.

A sign-in attempt for person P comes from a *client*: the browser's device cookie when it holds
one made for P (that browser signed in as P before), else the client's address
(:func:`api.ratelimit.client_key`). Failures count per (P, client) with the growing back-off of
:mod:`api.backoff` (kept in the database on a SQL store) and, for an address, against that
address's failed secret look-ups (:mod:`api.ratelimit`); a client that is shut out gets 429 with
``Retry-After`` before its password is even checked. An empty password is a failure like any
other. So a stranger's failures shut out the stranger: P signing in from another address, or
from their own browser at the same address, is never held back by them.

Cookies are ``Secure`` when the request came over HTTPS: directly, or through a proxy that says
so (``X-Forwarded-Proto``) and that uvicorn trusts (``caseclock serve --forwarded-allow-ips``);
``CASECLOCK_WEB_SECURE_COOKIE=1`` makes them Secure always.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.ratelimit import client_key

from .config import WebState

SCOPE = "signin"
DEVICE_COOKIE = "cc_device"
DEVICE_PATH = "/web/login"
DEVICE_DAYS = 180


def secure_cookies(request: Request, web: WebState) -> bool:
    """Cookies get ``Secure`` when configured, or when this request came over HTTPS."""
    return web.settings.secure_cookie or request.url.scheme == "https"


def wait_words(seconds: int) -> str:
    """``95`` → ``2 分钟`` (for the refusal on the sign-in page)."""
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"


@dataclass
class Attempt:
    """One sign-in attempt: for ``user``, from ``client`` (a device id or an address)."""

    request: Request
    web: WebState
    user: str
    address: str
    device: str | None

    @property
    def client(self) -> str:
        return f"device:{self.device}" if self.device else self.address

    @property
    def limiter(self) -> Any:
        ctx = getattr(self.request.app.state, "ctx", None)
        return getattr(ctx, "limiter", None)

    def wait(self) -> int:
        """Whole seconds until this client may try this person's password (0: now)."""
        wait = self.web.throttle.wait(SCOPE, self.user, self.client)
        if self.device is None and self.limiter is not None:
            wait = max(wait, self.limiter.failures_wait(self.address))
        return math.ceil(wait)

    def failed(self) -> None:
        self.web.throttle.failed(SCOPE, self.user, self.client)
        if self.device is None and self.limiter is not None:
            self.limiter.failed(self.address)

    def succeeded(self, response: Response) -> None:
        self.web.throttle.succeeded(SCOPE, self.user, self.client)
        if self.device is None:  # this browser is now one the person signs in from
            response.set_cookie(DEVICE_COOKIE, self.web.signer.device(self.user), max_age=DEVICE_DAYS * 86_400,
                                httponly=True, samesite="strict", path=DEVICE_PATH,
                                secure=secure_cookies(self.request, self.web))


def attempt(request: Request, web: WebState, user: str) -> Attempt:
    device = web.signer.read_device(request.cookies.get(DEVICE_COOKIE), user) if user else None
    return Attempt(request=request, web=web, user=user, address=client_key(request.scope), device=device)


__all__ = ["DEVICE_COOKIE", "Attempt", "attempt", "secure_cookies", "wait_words"]
