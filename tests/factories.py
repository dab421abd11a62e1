"""Small hand-made territories and drafts for tests that need to know every coordinate."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import box

from metropilot.accounts.model import Organisation, OrganisationKind, Role, Sector, User
from metropilot.accounts.repository import save_organisation
from metropilot.accounts.services import create_user
from metropilot.assets.model import AssetDraft, AssetKind
from metropilot.bootstrap import Platform
from metropilot.shared.actors import SYSTEM
from metropilot.territory.model import Commune
from metropilot.territory.repository import save_commune

# Two square communes side by side: West (21001) and East (21002), 0.1° wide each.
WEST = Commune("21001", "Ouestville", 1000, box(5.0, 47.3, 5.1, 47.4), 75.0, (5.05, 47.35))
EAST = Commune("21002", "Estville", 2000, box(5.1, 47.3, 5.2, 47.4), 75.0, (5.15, 47.35))
LIGHTING = Organisation(
    code="lumiere-sa", name="Lumière SA", kind=OrganisationKind.CONTRACTOR, sector=Sector.PRIVATE
)
ROADS = Organisation(
    code="roads",
    name="Metropolitan roads",
    kind=OrganisationKind.METROPOLITAN_SERVICE,
    sector=Sector.PUBLIC,
)


def seed_territory(platform: Platform) -> None:
    with platform.uow_factory() as uow:
        save_commune(uow.connection, WEST)
        save_commune(uow.connection, EAST)
        for org in (LIGHTING, ROADS):
            save_organisation(
                uow.connection,
                Organisation(org.code, org.name, org.kind, org.sector, org.commune_insee),
            )
        uow.commit()


def light(ref: str, lon: float = 5.05, lat: float = 47.35, **changes: Any) -> AssetDraft:
    attributes = {"lamp_technology": "LED", "nominal_power_w": 40, "dimmable": True}
    attributes.update(changes.pop("attributes", {}))
    return AssetDraft(
        external_ref=ref,
        kind=AssetKind.STREETLIGHT,
        lon=lon,
        lat=lat,
        attributes=attributes,
        maintainer=changes.pop("maintainer", "lumiere-sa"),
        parent_ref=changes.pop("parent_ref", None),
        where=changes.pop("where", ref),
        **changes,
    )


def cabinet(ref: str, lon: float = 5.05, lat: float = 47.35) -> AssetDraft:
    return AssetDraft(
        external_ref=ref,
        kind=AssetKind.LIGHTING_CABINET,
        lon=lon,
        lat=lat,
        attributes={"circuit_count": 4},
        maintainer="lumiere-sa",
        where=ref,
    )


# Accounts made in the synthetic world for the tests: username → (role, organisation,
# communes, team). Organisations, communes and teams are those the generator creates.
WORLD_ACCOUNTS: dict[str, tuple[Role, str | None, tuple[str, ...], str | None]] = {
    "admin": (Role.ADMIN, "metropole-it", (), None),
    "supervisor": (Role.SUPERVISOR, "metropole-command-post", (), None),
    "operator": (Role.OPERATOR, "metropole-command-post", (), None),
    "agent-dijon": (Role.COMMUNE_AGENT, "commune-21231", ("21231",), None),
    "agent-chenove": (Role.COMMUNE_AGENT, "commune-21166", ("21166",), None),
    "contractor-lighting": (Role.CONTRACTOR, "lucerna-eclairage", (), None),
    "contractor-lead": (Role.CONTRACTOR, "ordival-infrastructures", (), None),
    "field-dijon": (Role.FIELD_AGENT, "commune-21231", (), "commune-21231-field"),
    "citizen": (Role.CITIZEN, None, (), None),
}
PASSWORD = "correct horse battery staple"


def create_world_accounts(platform: Platform) -> None:
    with platform.uow_factory(write=True) as uow:
        for username, (role, org, communes, team) in WORLD_ACCOUNTS.items():
            user = User(
                username=username, role=role, organisation=org, communes=communes, team=team
            )
            create_user(uow, user, PASSWORD, SYSTEM)
        uow.commit()


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
