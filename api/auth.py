"""Who is calling: bearer tokens issued by the CLI, and JWTs from the office's single sign-on.

An API token is ``cc_<id>_<secret>`` (256 random bits). Only its SHA-256 is stored (a fast hash
is enough for a secret that cannot be guessed); the ``<id>`` part names it for listing and
revocation. Each token carries a user, roles and an org, and may expire or be revoked.

A JWT (three dot-separated parts) is verified against the configured keys (PEM public keys, or
shared secrets for HS256), issuer and audience; its claims ``sub``, ``roles`` (a list, or text
separated by spaces or commas) and ``org`` make the actor.

Either way the result is a :class:`workflow.Actor`; the engine scopes every read and write to the
actor's org subtree. No token or JWT carries the ``system`` role: it is the engine's own actor.
Tokens issued with it before (when it stood for the portal) are refused with a message saying to
reissue them with ``portal``; a JWT's ``system`` role is ignored like any unknown role.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import jwt

from workflow.authority import ENGINE_ROLE, GRANTABLE_ROLES, PORTAL_ROLE
from workflow.model import SYSTEM, Actor
from workflow.orgs import OrgTree

from .problems import Unauthorized

TOKEN_PREFIX = "cc_"
RETIRED_SYSTEM_ROLE = (
    f"the {ENGINE_ROLE!r} role is the engine's own actor and no token can carry it any more: "
    f"reissue this token with the {PORTAL_ROLE!r} role (caseclock token create --roles {PORTAL_ROLE}; "
    "see docs/api.md, 'Reissuing a system token')"
)


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    """An issued API token as stored (never the token itself: only its hash)."""

    id: str
    user: str
    roles: tuple[str, ...]
    org: str
    token_hash: str
    created_at: datetime
    name: str = ""
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "user": self.user, "roles": list(self.roles), "org": self.org,
            "name": self.name, "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


class TokenStore(Protocol):
    """Where API tokens live: the SQL store's ``api_tokens`` table, or memory (``memory://``)."""

    def add_token(self, info: TokenInfo) -> None: ...

    def token_by_hash(self, token_hash: str) -> TokenInfo | None: ...

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Revoke by id; False when no active token has that id."""
        ...

    def list_tokens(self) -> list[TokenInfo]: ...


class MemoryTokenStore:
    """Tokens in a dict (for ``memory://`` engines and tests)."""

    def __init__(self) -> None:
        self._by_hash: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()

    def add_token(self, info: TokenInfo) -> None:
        with self._lock:
            self._by_hash[info.token_hash] = info

    def token_by_hash(self, token_hash: str) -> TokenInfo | None:
        return self._by_hash.get(token_hash)

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        with self._lock:
            for h, info in self._by_hash.items():
                if info.id == token_id and info.revoked_at is None:
                    self._by_hash[h] = replace(info, revoked_at=at)
                    return True
        return False

    def list_tokens(self) -> list[TokenInfo]:
        return sorted(self._by_hash.values(), key=lambda t: (t.created_at, t.id))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_roles(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"clerk,examiner"`` or a list → roles a token or a person may hold, in order, without
    repeats (ValueError on an unknown role, and on ``system``: the engine's own)."""
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    if ENGINE_ROLE in items:
        raise ValueError(f"the {ENGINE_ROLE!r} role is the engine's own actor, which no token or person can "
                         f"carry: give integrating systems (the portal, the OA) the {PORTAL_ROLE!r} role")
    unknown = [r for r in items if r not in GRANTABLE_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)} (known: {', '.join(GRANTABLE_ROLES)})")
    if not items:
        raise ValueError(f"give at least one role ({', '.join(GRANTABLE_ROLES)})")
    return tuple(dict.fromkeys(items))


def issue_token(
    store: TokenStore, *, user: str, roles: str | Iterable[str], org: str, now: datetime,
    orgs: OrgTree | None = None, name: str = "", expires_at: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Create a token: returns the token (shown once) and what is stored."""
    user = user.strip()
    if not user or len(user) > 128:
        raise ValueError("a token needs a user id (at most 128 characters)")
    if user == SYSTEM.id:
        raise ValueError(f"the user id {SYSTEM.id!r} is the engine's own actor's (its events): choose another")
    if len(name) > 255:
        raise ValueError("a token's name is at most 255 characters")
    if orgs is not None and org not in orgs:
        raise ValueError(f"unknown org {org!r}")
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    info = TokenInfo(
        id=token_id, user=user, roles=parse_roles(roles), org=org, token_hash=hash_token(token),
        created_at=now, name=name, expires_at=expires_at,
    )
    store.add_token(info)
    return token, info


@dataclass(frozen=True, kw_only=True)
class JwtSettings:
    """Single sign-on: tokens signed by the office's identity provider."""

    keys: tuple[str, ...]  # PEM public keys (RS*/ES*/PS*/EdDSA) or shared secrets (HS*)
    issuer: str | None = None
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA")
    hmac_algorithms: tuple[str, ...] = ("HS256", "HS384", "HS512")
    leeway_seconds: int = 30
    roles_claim: str = "roles"
    org_claim: str = "org"
    name_claim: str = "name"


@dataclass
class Authenticator:
    """Turns an ``Authorization`` header into an :class:`Actor` (or raises Unauthorized)."""

    orgs: OrgTree
    now: Callable[[], datetime]
    tokens: TokenStore | None = None
    jwt: JwtSettings | None = None
    _keys: list[tuple[Any, list[str]]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.jwt is not None:
            for key in self.jwt.keys:
                if key.lstrip().startswith("-----BEGIN"):
                    self._keys.append((key, list(self.jwt.algorithms)))
                else:
                    self._keys.append((key, list(self.jwt.hmac_algorithms)))

    def actor(self, authorization: str | None) -> Actor:
        if not authorization:
            raise Unauthorized("send Authorization: Bearer <token>")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        if token.startswith(TOKEN_PREFIX):
            return self._api_token(token)
        if token.count(".") == 2 and self._keys:
            return self._jwt(token)
        raise Unauthorized("unknown token")

    def _api_token(self, token: str) -> Actor:
        if self.tokens is None:
            raise Unauthorized("API tokens are not enabled on this server")
        info = self.tokens.token_by_hash(hash_token(token))
        if info is None:
            raise Unauthorized("unknown token")
        if not info.active(self.now()):
            raise Unauthorized("the token is revoked or expired")
        if ENGINE_ROLE in info.roles:  # issued when ``system`` stood for the portal
            raise Unauthorized(RETIRED_SYSTEM_ROLE)
        if info.user == SYSTEM.id:
            raise Unauthorized(f"the user id {SYSTEM.id!r} is the engine's own actor's: reissue this token "
                               "for another user id")
        return Actor(id=info.user, roles=info.roles, org=info.org, name=info.name)

    def _jwt(self, token: str) -> Actor:
        assert self.jwt is not None
        cfg = self.jwt
        options = {"require": ["sub", "exp"], "verify_aud": cfg.audience is not None}
        last: Exception | None = None
        for key, algorithms in self._keys:
            try:
                claims = jwt.decode(
                    token, key, algorithms=algorithms, audience=cfg.audience, issuer=cfg.issuer,
                    leeway=cfg.leeway_seconds, options=options,  # type: ignore[arg-type]
                )
                break
            except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError, jwt.InvalidKeyError) as exc:
                last = exc
                continue
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise Unauthorized(f"invalid token: {exc}") from None
        else:
            raise Unauthorized(f"invalid token: {last or 'no key verifies it'}")
        sub, org = claims.get("sub"), claims.get(cfg.org_claim)
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("the token has no subject")
        if sub == SYSTEM.id:  # the history would show the engine acting
            raise Unauthorized(f"the subject {SYSTEM.id!r} is the engine's own actor's: no token acts as it")
        if not isinstance(org, str) or org not in self.orgs:
            raise Unauthorized(f"the token's {cfg.org_claim!r} claim names no known org")
        raw = claims.get(cfg.roles_claim) or []
        if isinstance(raw, str):
            raw = raw.replace(",", " ").split()
        # unknown roles, and the engine's own (``system``), are ignored
        roles = [r for r in raw if isinstance(r, str) and r in GRANTABLE_ROLES] if isinstance(raw, list) else []
        name = claims.get(cfg.name_claim)
        return Actor(id=sub, roles=roles, org=org, name=name if isinstance(name, str) else "")


__all__ = [
    "Authenticator",
    "JwtSettings",
    "MemoryTokenStore",
    "RETIRED_SYSTEM_ROLE",
    "TOKEN_PREFIX",
    "TokenInfo",
    "TokenStore",
    "hash_token",
    "issue_token",
    "parse_roles",
]
