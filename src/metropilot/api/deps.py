"""Dependencies routes declare in their signature (``Annotated`` aliases)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
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


# Where a request's unit of work is ended once its route has run: rolling back what the route
# left open (it raised before committing) and handing the connection back are database work, so
# they never run on the event loop; and they have threads of their own, so that they never wait
# behind requests that occupy the shared worker threads while queued for the writer they hold.
_ENDINGS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="uow-end")


async def _end(uow: UnitOfWork) -> None:
    ending = asyncio.get_running_loop().run_in_executor(_ENDINGS, uow.__exit__, None, None, None)
    # Shielded: a request cancelled meanwhile (its client left) still ends its transaction.
    await asyncio.shield(ending)


# Entering a unit of work does no I/O: the route's first query, in its worker thread, opens it.
async def _uow(request: Request) -> AsyncIterator[UnitOfWork]:
    uow: UnitOfWork = request.app.state.uow_factory()
    uow.__enter__()
    try:
        yield uow
    finally:
        await _end(uow)


async def _write_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    uow: UnitOfWork = request.app.state.uow_factory(write=True)
    uow.__enter__()
    try:
        yield uow
    finally:
        await _end(uow)


# A stored object's id: the one identifier type of every route (see metropilot.api.params).
ObjectId = params.ObjectId

SettingsDep = Annotated[Settings, Depends(_settings)]
UowDep = Annotated[UnitOfWork, Depends(_uow)]
WriteUowDep = Annotated[UnitOfWork, Depends(_write_uow)]
