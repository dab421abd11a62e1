"""Organisations: metropolitan services, commune services and private contractors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from metropilot.shared.errors import InvalidInput

__all__ = ["Organisation", "OrganisationKind", "Sector", "validate_org_code"]

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class OrganisationKind(StrEnum):
    METROPOLITAN_SERVICE = "metropolitan_service"
    COMMUNE_SERVICE = "commune_service"
    CONTRACTOR = "contractor"


class Sector(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


def validate_org_code(code: str) -> str:
    if not CODE_PATTERN.match(code):
        raise InvalidInput(
            f"organisation code must be 2-63 lowercase letters, digits or dashes, got {code!r}"
        )
    return code


@dataclass(slots=True)
class Organisation:
    code: str
    name: str
    kind: OrganisationKind
    sector: Sector
    commune_insee: str | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        validate_org_code(self.code)
        if self.kind is OrganisationKind.COMMUNE_SERVICE and not self.commune_insee:
            raise InvalidInput(f"commune service {self.code!r} must name its commune")
        if self.kind is OrganisationKind.CONTRACTOR and self.sector is not Sector.PRIVATE:
            raise InvalidInput(f"contractor {self.code!r} must be private")
        if self.kind is not OrganisationKind.CONTRACTOR and self.sector is not Sector.PUBLIC:
            raise InvalidInput(f"public service {self.code!r} must be public")
