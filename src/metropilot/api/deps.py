"""Dependencies routes declare in their signature (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request

from metropilot.db.uow import UnitOfWork
from metropilot.settings import Settings

__all__ = ["ObjectId", "SettingsDep", "UowDep", "WriteUowDep"]


def _settings(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


def _uow(request: Request) -> Iterator[UnitOfWork]:
    with request.app.state.uow_factory() as uow:
        yield uow


def _write_uow(request: Request) -> Iterator[UnitOfWork]:
    with request.app.state.uow_factory(write=True) as uow:
        yield uow


# A stored object's id in a path: bounded so that no request reaches the database with a number
# its integer columns cannot hold.
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Identifier")]

SettingsDep = Annotated[Settings, Depends(_settings)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
WriteUowDep = Annotated[UnitOfWork, Depends(_write_uow)]
