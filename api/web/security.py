"""Passwords, sessions and CSRF tokens for the web pages.

Passwords: ``hashlib.scrypt`` (N=2^15, r=8, p=1, 16-byte salt, 32-byte key), stored as
``scrypt$N$r$p$salt$key`` (base64). :func:`verify_password` takes the same time whether or not the
person exists (the caller verifies against :func:`dummy_hash`).

Device cookies: after a sign-in the browser keeps a signed cookie naming the person and a random
device id, so that its failed sign-ins are counted apart from those of strangers at the same
address (api/web/signin.py).

Sessions: a signed cookie (HMAC-SHA256 over ``user, session id, expiry, password fingerprint``),
HttpOnly, SameSite=Lax, Secure when the request came over HTTPS (or when configured). A changed password ends every earlier session
(the fingerprint no longer matches); signing out ends that session in this process (its id is
remembered until it would have expired).

CSRF: every form carries a token bound to the session (HMAC of the session id); the sign-in form,
used before there is a session, binds it to a random pre-session cookie. A POST whose token does
not match is refused with 403.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Protocol

SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024
MAX_PASSWORD = 1024  # characters: longer input is refused before hashing


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A new scrypt hash of ``password`` with a random salt."""
    if not password:
        raise ValueError("a password cannot be empty")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"a password is at most {MAX_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    if not stored or not password or len(password) > MAX_PASSWORD:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        want = _unb64(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=_MAXMEM, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when the person is unknown (same work, same time)."""
    return hash_password("caseclock-dummy-password-never-matches")


def fingerprint(stored_hash: str | None) -> str:
    """A short digest of the stored hash: sessions made before a password change stop working."""
    return hashlib.sha256((stored_hash or "").encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    user: str
    sid: str
    expires: int  # seconds since the epoch
    pw: str  # fingerprint of the password hash when it was made


class EndedSessions(Protocol):
    """Where sign-outs are kept for every process to see (``SqlSignouts``: the database)."""

    def add(self, sid: str, expires: int) -> None: ...

    def has(self, sid: str) -> bool: ...


class Signer:
    """Signs and checks session cookies and CSRF tokens with one secret. ``ended``: where
    sign-outs are shared with the other processes (else they hold in this process only)."""

    def __init__(self, secret: bytes, ended: EndedSessions | None = None) -> None:
        if len(secret) < 16:
            raise ValueError("the web session secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"caseclock-web|" + secret).digest()
        self._ended: dict[str, int] = {}
        self._lock = threading.Lock()
        self.shared = ended

    def _mac(self, purpose: str, data: bytes) -> str:
        return _b64(hmac.new(self._key, purpose.encode() + b"|" + data, hashlib.sha256).digest())

    # -- sessions ----------------------------------------------------------------------------

    def new_session(self, user: str, pw: str, seconds: int) -> tuple[Session, str]:
        s = Session(user=user, sid=secrets.token_urlsafe(18), expires=int(time.time()) + seconds, pw=pw)
        body = _b64(json.dumps({"u": s.user, "s": s.sid, "e": s.expires, "p": s.pw},
                               separators=(",", ":")).encode("utf-8"))
        return s, f"{body}.{self._mac('session', body.encode())}"

    def read_session(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body.encode())):
            return None
        try:
            d = json.loads(_unb64(body))
            s = Session(user=str(d["u"]), sid=str(d["s"]), expires=int(d["e"]), pw=str(d["p"]))
        except (ValueError, KeyError, TypeError):
            return None
        if s.expires <= time.time():
            return None
        with self._lock:
            if s.sid in self._ended:
                return None
        if self.shared is not None and self.shared.has(s.sid):  # signed out through another process
            return None
        return s

    def end_session(self, s: Session) -> None:
        now = time.time()
        with self._lock:
            self._ended = {k: v for k, v in self._ended.items() if v > now}
            self._ended[s.sid] = s.expires
        if self.shared is not None:
            self.shared.add(s.sid, s.expires)

    # -- device cookies ------------------------------------------------------------------------

    def device(self, user: str) -> str:
        """A device cookie for ``user``: this browser signed in as them before (its failures
        are then counted apart from the address's: api/web/signin.py)."""
        body = _b64(json.dumps({"u": user, "d": secrets.token_urlsafe(12)}, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._mac('device', body.encode())}"

    def read_device(self, cookie: str | None, user: str) -> str | None:
        """The device's id when ``cookie`` is a device cookie this server made for ``user``."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            return None
        body, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("device", body.encode())):
            return None
        try:
            d = json.loads(_unb64(body))
            owner, device = str(d["u"]), str(d["d"])
        except (ValueError, KeyError, TypeError):
            return None
        return device if owner == user and device else None

    # -- CSRF --------------------------------------------------------------------------------

    def csrf(self, bound_to: str) -> str:
        """The token forms carry: bound to a session id (or a pre-session cookie's value)."""
        return self._mac("csrf", bound_to.encode("utf-8"))

    def check_csrf(self, bound_to: str | None, token: str | None) -> bool:
        if not bound_to or not token or len(token) > 200:
            return False
        return hmac.compare_digest(token, self.csrf(bound_to))


class Throttle:
    """Failed sign-ins per person, with the growing back-off of :mod:`api.backoff` in this
    process (bounded; a full table never drops a person who is shut out). The pages use
    :class:`api.backoff.Backoff` per (person, client) instead: kept for code that used this."""

    def __init__(self, limit: int = 10, window: int = 900) -> None:
        from api.backoff import Backoff, BackoffPolicy, MemoryFailures

        self.limit, self.window = limit, window
        policy = BackoffPolicy(free=max(0, limit - 1), max_delay=float(window), forget=max(float(window), 86_400.0))
        self._backoff = Backoff(MemoryFailures(), policy)

    def blocked(self, key: str) -> bool:
        return self._backoff.wait("signin", key, "") > 0

    def failed(self, key: str) -> None:
        self._backoff.failed("signin", key, "")

    def succeeded(self, key: str) -> None:
        self._backoff.succeeded("signin", key, "")


__all__ = [
    "Session", "Signer", "Throttle", "dummy_hash", "fingerprint", "hash_password", "verify_password",
]
