"""Time-based one-time passwords (RFC 6238, SHA-1, 6 digits, 30 s): what authenticator apps use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

__all__ = ["code_at", "matching_step", "new_secret", "provisioning_uri"]

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)


def code_at(secret: str, unix_time: float) -> str:
    counter = int(unix_time // STEP_SECONDS)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, unix_time: float, *, window: int = 1) -> int | None:
    """The time step the code belongs to (± ``window`` steps of clock drift), or None.

    Callers keep the last accepted step and refuse it again, so a code cannot be replayed.
    """
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    step = int(unix_time // STEP_SECONDS)
    for candidate in range(step - window, step + window + 1):
        if hmac.compare_digest(code_at(secret, candidate * STEP_SECONDS), code):
            return candidate
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "Metropilot") -> str:
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer)}&digits={DIGITS}"
