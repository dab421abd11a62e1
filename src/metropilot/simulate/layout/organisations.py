"""The organisations of the metropolis: its services, the contract's consortium, communes."""

from __future__ import annotations

from metropilot.accounts.model import Organisation, OrganisationKind, Sector
from metropilot.simulate.layout.common import (
    IT_COMPANY,
    LEAD_CONTRACTOR,
    LIGHTING_COMPANY,
    OPERATOR_COMPANY,
)
from metropilot.simulate.layout.context import Build
from metropilot.simulate.layout.names import of_name


def organisations(build: Build) -> list[Organisation]:
    metro = OrganisationKind.METROPOLITAN_SERVICE
    contractor = OrganisationKind.CONTRACTOR
    public, private = Sector.PUBLIC, Sector.PRIVATE
    orgs = [
        Organisation("metropole-command-post", "Poste de pilotage connecté", metro, public),
        Organisation(
            "metropole-roads", "Direction de l'espace public et de la voirie", metro, public
        ),
        Organisation("metropole-green-spaces", "Direction des espaces verts", metro, public),
        Organisation("metropole-buildings", "Direction du patrimoine bâti", metro, public),
        Organisation("metropole-fleet", "Service du parc de véhicules", metro, public),
        Organisation("metropole-it", "Direction du numérique", metro, public),
        Organisation(
            "metropole-environment", "Service environnement et qualité de l'air", metro, public
        ),
        Organisation(LEAD_CONTRACTOR, "Ordival Infrastructures", contractor, private),
        Organisation(LIGHTING_COMPANY, "Lucerna Éclairage Public", contractor, private),
        Organisation(OPERATOR_COMPANY, "Vigilis Opérations Urbaines", contractor, private),
        Organisation(IT_COMPANY, "Numélia Systèmes", contractor, private),
    ]
    for place in build.places:
        orgs.append(
            Organisation(
                f"commune-{place.insee.lower()}",
                f"Services techniques {of_name(place.seed.name)}",
                OrganisationKind.COMMUNE_SERVICE,
                public,
                commune_insee=place.insee,
            )
        )
    return orgs
