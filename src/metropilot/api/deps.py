"""Dependencies routes declare in their signature (``Annotated`` aliases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request

from metropilot.api import params
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


# A stored object's id: the one identifier type of every route (see metropilot.api.params).
ObjectId = params.ObjectId

SettingsDep = Annotated[Settings, Depends(_settings)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
WriteUowDep = Annotated[UnitOfWork, Depends(_write_uow)]
