"""Who may write: staff passwords (hashed with scrypt, compared in constant time) and the staff mode.

Pure (no streamlit): `ui.require_staff` asks `staff_mode` which gate to draw, then checks a typed
password with `verify_password` or a signed-in identity with `allowed_email`. Viewing needs none
of this; only the upload and undo paths do. A password is never stored or compared in plain text:
`PODGEO_STAFF_PASSWORD` (plain, for quick set-ups) is hashed once at start-up with a fresh salt.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import threading
import time
from typing import Callable, Mapping

HASH_ENV = "PODGEO_STAFF_PASSWORD_HASH"
PLAIN_ENV = "PODGEO_STAFF_PASSWORD"
HASH_SECRET = "staff_password_hash"
EMAILS_ENV = "PODGEO_STAFF_EMAILS"
EMAILS_SECRET = "staff_emails"
SCHEME = "scrypt"
#: scrypt cost: 2**15 * 8 * 128 bytes = 32 MiB of memory and ~0.1 s per check, which slows guessing.
N, R, P = 2**15, 8, 1
MIN_PASSWORD = 8
_MAXMEM = 128 * 2**20


def hash_password(password: str, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """`scrypt$n$r$p$salt$hash` (base64): everything needed to check the password later, nothing to recover it."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"a staff password needs at least {MIN_PASSWORD} characters")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return "$".join([SCHEME, str(n), str(r), str(p), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash; the digests are compared in constant time.

    A malformed stored hash raises ValueError (a configuration mistake the operator must see),
    never a silent yes.
    """
    n, r, p, salt, expected = parse_hash(stored)
    if not isinstance(password, str) or not password:
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(expected))
    return hmac.compare_digest(digest, expected)


def parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """(n, r, p, salt, digest) from a stored hash; ValueError saying how to make a good one."""
    how = "make one with `python -m podgeo hash-password`"
    parts = str(stored).strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(f"the staff password hash is not in podgeo's format ({SCHEME}$n$r$p$salt$hash): {how}")
    try:
        n, r, p = (int(v) for v in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise ValueError(f"the staff password hash is damaged (bad number or base64): {how}") from None
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(salt) < 8 or len(digest) < 16:
        raise ValueError(f"the staff password hash has unsafe or impossible parameters: {how}")
    if 128 * r * (n + p + 2) > _MAXMEM:
        raise ValueError(f"the staff password hash asks for more than {_MAXMEM >> 20} MiB of memory: {how}")
    return n, r, p, salt, digest


def staff_mode(secrets: Mapping, environ: Mapping) -> str:
    """"oidc" when secrets hold an `[auth]` section with a provider, else "password" when a staff
    password (hash) is configured, else "disabled". An identity provider wins over a password."""
    if oidc_provider(secrets) is not False:
        return "oidc"
    if environ.get(HASH_ENV) or _get(secrets, HASH_SECRET) or environ.get(PLAIN_ENV):
        return "password"
    return "disabled"


def oidc_provider(secrets: Mapping) -> str | None | bool:
    """The provider name to pass to `st.login`: None for the default `[auth]` provider, a name for
    `[auth.NAME]`, False when no provider is configured."""
    section = _get(secrets, "auth")
    if not isinstance(section, Mapping):
        return False
    if _get(section, "client_id") and _get(section, "server_metadata_url"):
        return None
    for name, value in section.items():
        if isinstance(value, Mapping) and _get(value, "client_id"):
            return str(name)
    return False


def password_hash(secrets: Mapping, environ: Mapping) -> str | None:
    """The configured staff password hash: $PODGEO_STAFF_PASSWORD_HASH, else the `staff_password_hash`
    secret, else $PODGEO_STAFF_PASSWORD hashed once per process; None when none is set."""
    stored = environ.get(HASH_ENV) or _get(secrets, HASH_SECRET)
    if stored:
        return str(stored).strip()
    plain = environ.get(PLAIN_ENV)
    if plain:
        return _hash_once(plain)
    return None


def allowed_email(email: str | None, secrets: Mapping, environ: Mapping) -> bool:
    """Whether a signed-in identity is staff: its email (or @domain) is in `staff_emails` (secret, a
    list) or $PODGEO_STAFF_EMAILS (comma-separated); "*" admits anyone the provider signs in.

    With no list configured nobody is admitted: many providers (Google, Microsoft personal
    accounts) sign in anyone on the internet, so "signed in" alone must not mean "staff".
    """
    allowed = staff_emails(secrets, environ)
    if "*" in allowed:
        return True
    if not email:
        return False
    email = email.strip().lower()
    domain = "@" + email.rpartition("@")[2]
    return email in allowed or domain in allowed


def staff_emails(secrets: Mapping, environ: Mapping) -> set[str]:
    value = _get(secrets, EMAILS_SECRET)
    items = [value] if isinstance(value, str) else list(value or [])
    items += (environ.get(EMAILS_ENV) or "").split(",")
    return {str(v).strip().lower() for v in items if str(v).strip()}


def _get(mapping, key):
    """mapping.get(key) that survives Streamlit's secrets object raising when there is no secrets file."""
    try:
        return mapping.get(key) if mapping is not None else None
    except Exception:  # streamlit raises its own errors for a missing or broken secrets.toml
        return None


@functools.lru_cache(maxsize=4)
def _hash_once(plain: str) -> str:
    return hash_password(plain)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- guessing: backoff, then a lockout ---------------------------------------------------------------

log = logging.getLogger("podgeo.auth")


class Throttle:
    """Wrong staff passwords slow the next try, then lock the sign-in for a while.

    Keyed by who is trying (the client's address; every session of one address shares it, so a new
    browser tab does not reset the count). The first `free` failures cost nothing; after that each
    one doubles the wait before the next try (2, 4, 8 … s, at most `max_wait`); `lock_after`
    failures lock the key for `lock_seconds`. A success clears the key. One per server process, as
    Streamlit runs every session in one process; thread-safe.
    """

    def __init__(self, *, free: int = 3, max_wait: float = 300.0, lock_after: int = 10, lock_seconds: float = 900.0,
                 clock: Callable[[], float] = time.monotonic):
        self.free, self.max_wait, self.lock_after, self.lock_seconds = free, max_wait, lock_after, lock_seconds
        self._clock = clock
        self._state: dict[str, tuple[int, float]] = {}  # key -> (failures, time of the last one)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds `key` must wait before its next try may be checked (0: it may try now)."""
        with self._lock:
            failures, last = self._state.get(key, (0, 0.0))
        if failures >= self.lock_after:
            delay = self.lock_seconds
        elif failures >= self.free:
            delay = min(2.0 ** (failures - self.free + 1), self.max_wait)
        else:
            return 0.0
        return max(0.0, last + delay - self._clock())

    def failed(self, key: str, *, name: str = "") -> int:
        """Count a wrong password for `key` and log it (who and from where, never the password)."""
        with self._lock:
            failures = self._state.get(key, (0, 0.0))[0] + 1
            self._state[key] = (failures, self._clock())
        log.warning("staff sign-in failed: name %r from %s (%d wrong password(s) in a row%s)", name[:100], key,
                    failures, "; locked" if failures >= self.lock_after else "")
        return failures

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


THROTTLE = Throttle()
