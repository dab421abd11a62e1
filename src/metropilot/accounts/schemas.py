"""API shapes of organisations."""

from __future__ import annotations

from pydantic import BaseModel

from metropilot.accounts.model import Organisation, OrganisationKind, Sector

__all__ = ["OrganisationOut", "organisation_out"]


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: OrganisationKind
    sector: Sector
    commune: str | None


def organisation_out(org: Organisation) -> OrganisationOut:
    return OrganisationOut(
        code=org.code, name=org.name, kind=org.kind, sector=org.sector, commune=org.commune_insee
    )
