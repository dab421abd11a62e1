"""Password hashing with argon2id; the cost comes from the settings (lower only in tests)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["configure", "hash_password", "needs_rehash", "verify_password", "waste_time"]

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("metropilot-dummy-password")


def configure(time_cost: int, memory_kib: int) -> None:
    global _hasher, _DUMMY
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _DUMMY = _hasher.hash("metropilot-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def waste_time(password: str) -> None:
    """Spend a real verification on an unknown username, so timing does not reveal accounts."""
    verify_password(_DUMMY, password)
