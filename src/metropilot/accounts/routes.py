"""HTTP: organisations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from metropilot.accounts import services
from metropilot.accounts.model import OrganisationKind, Sector
from metropilot.accounts.schemas import organisation_out
from metropilot.api.audience import Audience, audience
from metropilot.api.deps import UowDep
from metropilot.api.formats import list_envelope

__all__ = ["router"]

router = APIRouter(tags=["organisations"])


@router.get(
    "/organisations",
    dependencies=[audience(Audience.PUBLIC)],
    summary="Metropolitan services, commune services and contractors",
)
def list_organisations(
    uow: UowDep,
    kind: OrganisationKind | None = Query(default=None),
    sector: Sector | None = Query(default=None),
    commune: str | None = Query(default=None, description="INSEE code"),
) -> Any:
    orgs = services.list_organisations(uow, kind=kind, sector=sector, commune_insee=commune)
    return list_envelope((organisation_out(o).model_dump() for o in orgs), None)
