"""What the reports services answer besides reports themselves: typed JSON objects.

``TypedDict``s, as in the contracts' services: the answers stay the plain dicts the API, the
Open311 endpoint and the public pages render and the tests read, and mypy checks every key.
They are the stored rows, timestamps as ``datetime``s (each renderer formats them).
"""

from __future__ import annotations

from datetime import datetime

# Pydantic reads these for the OpenAPI document; before Python 3.12 it needs this TypedDict.
from typing_extensions import TypedDict

__all__ = ["Photo", "PublicUpdate"]


class Photo(TypedDict):
    """A stored photo of a report (EXIF gone) and its thumbnail, as keys of the photo storage."""

    id: int
    report_id: int
    position: int  # 1, 2, … in the order they were sent
    storage_key: str
    thumbnail_key: str
    content_type: str
    width: int
    height: int
    sha256: str
    created_at: datetime


class PublicUpdate(TypedDict):
    """A change of a report its reporter and the public see."""

    at: datetime
    state: str
    description: str
