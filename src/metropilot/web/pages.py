"""Pages for people (filled in by the home page work)."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["install_pages"]


def install_pages(app: FastAPI) -> None:
    return None
