"""Organisation use cases."""

from __future__ import annotations

from dataclasses import dataclass

from metropilot.accounts import repository
from metropilot.accounts.model import Organisation, OrganisationKind, Sector
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.errors import InvalidInput, NotFound
from metropilot.shared.events import DomainEvent
from metropilot.territory import repository as territory_repository

__all__ = [
    "OrganisationSaved",
    "get_organisation",
    "list_organisations",
    "organisation_ids",
    "save_organisation",
]


@dataclass(frozen=True, kw_only=True)
class OrganisationSaved(DomainEvent):
    code: str
    actor: str


def list_organisations(
    uow: UnitOfWork,
    *,
    kind: OrganisationKind | None = None,
    sector: Sector | None = None,
    commune_insee: str | None = None,
) -> list[Organisation]:
    return repository.list_organisations(
        uow.connection, kind=kind, sector=sector, commune_insee=commune_insee
    )


def get_organisation(uow: UnitOfWork, code: str) -> Organisation:
    org = repository.get_organisation_by_code(uow.connection, code)
    if org is None:
        raise NotFound(f"no organisation with code {code!r}")
    return org


def organisation_ids(uow: UnitOfWork, codes: list[str], where: str) -> list[int]:
    """Resolve organisation codes to ids; an unknown code is an error naming it."""
    ids = []
    for code in codes:
        org = repository.get_organisation_by_code(uow.connection, code)
        if org is None or org.id is None:
            raise InvalidInput(
                f"{where}: unknown organisation {code!r}", code="unknown_organisation"
            )
        ids.append(org.id)
    return ids


def save_organisation(uow: UnitOfWork, org: Organisation, actor: Actor) -> Organisation:
    if org.commune_insee is not None:
        known = {c.insee for c in territory_repository.list_communes(uow.connection)}
        if org.commune_insee not in known:
            raise InvalidInput(f"organisation {org.code!r}: unknown commune {org.commune_insee!r}")
    saved = repository.save_organisation(uow.connection, org)
    uow.record(OrganisationSaved(code=org.code, actor=actor.label()))
    return saved
