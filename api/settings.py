"""The API's configuration: a typed, frozen, keyword-only object (environment read at the edge)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .auth import JwtSettings, TokenStore
from .ratelimit import RateLimits


@dataclass(frozen=True, kw_only=True)
class ApiSettings:
    """What ``create_app`` needs besides the engine.

    ``rate_limits``: per token, per client and failed secret look-ups (api/ratelimit.py; the
    defaults never refuse a portal's 100 requests a second). ``tokens``: where API tokens live; None takes the engine's store's token table when it has
    one (SQL), else a fresh in-memory token store (``memory://``: issue tokens with
    ``app.state.ctx.tokens``). ``jwt``: single sign-on keys, issuer and audience (None: off).
    """

    tokens: TokenStore | None = None
    jwt: JwtSettings | None = None
    title: str = "caseclock"
    page_size: int = 50
    max_page_size: int = 500
    max_body_bytes: int = 1024 * 1024  # JSON and form bodies: larger ones are 413 (api/limits.py)
    max_upload_bytes: int = 21 * 1024 * 1024  # multipart uploads (a 20 MiB attachment and its envelope)
    metrics: bool = True
    board_roles: tuple[str, ...] = ("supervisor", "leader", "admin")
    report_roles: tuple[str, ...] = ("supervisor", "leader", "admin")
    admin_roles: tuple[str, ...] = ("admin",)
    rate_limits: RateLimits = field(default_factory=RateLimits)


__all__ = ["ApiSettings"]
