"""Password hashing, random tokens, login limits and the security headers."""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .store import Store, User

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW_S = 5 * 60
LOCKOUT_S = 5 * 60
ADDRESS_ATTEMPTS_PER_MINUTE = 10
SETUP_TOKEN_TTL_S = 10 * 60
API_TOKEN_PREFIX = "wa_"

# argon2-cffi's defaults are argon2id with its RFC 9106 low-memory profile:
# 64 MiB, 3 passes, 4 lanes. Each hash or check allocates those 64 MiB while it runs.
_hasher = PasswordHasher()
# One check at a time, so a burst of sign-ins costs 64 MiB, not 64 MiB per thread.
_argon2_slot = threading.BoundedSemaphore(1)


class PasswordPolicyError(ValueError):
    """A new password does not meet the length rules."""


def check_password_policy(password: str) -> None:
    """Raise PasswordPolicyError when a new password is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    with _argon2_slot:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether a password matches its hash, without raising."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        with _argon2_slot:
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    # Checked when the user does not exist, so a wrong user name costs as long
    # as a wrong password. Made on first use: importing does no work.
    return hash_password(secrets.token_urlsafe(16))


def verify_login(user: User | None, password: str) -> bool:
    """Check a password in the same time whether or not the user exists."""
    if user is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(user.password_hash, password)


def new_token(prefix: str = "") -> str:
    """Return a new random token with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Hash a random token for storage; SHA-256 suffices for 256-bit secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginLimits:
    """Decides whether another login attempt may be checked."""

    store: Store

    def allows(self, username: str, address: str, now: float | None = None) -> bool:
        """Tell whether an attempt for this user from this address may go ahead."""
        now = now or time.time()
        if self.store.count_attempts_from(address, now - 60) >= ADDRESS_ATTEMPTS_PER_MINUTE:
            return False
        return not self.is_locked(username, now)

    def is_locked(self, username: str, now: float) -> bool:
        """Tell whether the account is locked after too many failures."""
        failures = self.store.count_failures_for_user(username, now - LOCKOUT_WINDOW_S)
        if failures < LOCKOUT_FAILURES:
            return False
        last = self.store.last_failure_for_user(username)
        return last is not None and now - last < LOCKOUT_S


def safe_next_path(target: str | None) -> str | None:
    """Return ``target`` when it is a path on this site, else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def security_headers(frame_ancestors: tuple[str, ...]) -> dict[str, str]:
    """Build the headers every response carries."""
    ancestors = " ".join(("'self'",) + frame_ancestors)
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
