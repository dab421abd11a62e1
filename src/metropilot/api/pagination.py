"""Opaque cursors: clients pass back what they were given and never build one themselves."""

from __future__ import annotations

import base64
import binascii

from metropilot.shared.errors import InvalidInput

__all__ = ["MAX_ID", "decode_cursor", "encode_cursor"]

# Ids are 32-bit on PostgreSQL (and cursors carry ids or millisecond times, which fit in 63 bits).
MAX_ID = 2**63 - 1


def encode_cursor(last_id: int | None) -> str | None:
    if last_id is None:
        return None
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        prefix, _, value = text.partition(":")
        if prefix != "id":
            raise ValueError(prefix)
        number = int(value)
        if not 0 <= number <= MAX_ID:
            raise ValueError(value)
        return number
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "cursor: not a cursor this server issued; pass back next_cursor unchanged",
            code="invalid_cursor",
        ) from None
