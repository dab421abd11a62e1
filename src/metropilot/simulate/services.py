"""Generate the synthetic metropolis into the configured database, through the normal services."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from metropilot.accounts import queries as accounts_queries
from metropilot.accounts import services as accounts_services
from metropilot.accounts.model import Role, Team, User
from metropilot.alarms import services as alarms_services
from metropilot.assets import queries as assets_queries
from metropilot.assets import services as assets_services
from metropilot.cases import services as cases_services
from metropilot.contracts import services as contracts_services
from metropilot.db.uow import UnitOfWork
from metropilot.reports import services as reports_services
from metropilot.reports.catalogue import default_categories
from metropilot.shared.actors import Actor
from metropilot.shared.errors import Conflict, InvalidInput
from metropilot.simulate.contract import (
    REFERENCE_ASSIGNMENT,
    REFERENCE_CONTRACT,
    REFERENCE_PROGRAMS,
    REFERENCE_ROUTING,
)
from metropilot.simulate.layout import (
    CommuneSeed,
    SyntheticMetropolis,
    build_metropolis,
    load_reference_communes,
)
from metropilot.territory import queries as territory_queries
from metropilot.territory import services as territory_services
from metropilot.territory.model import Commune

__all__ = [
    "DEMO_ACCOUNTS",
    "GenerationReport",
    "create_demo_accounts",
    "generate_metropolis",
    "registry_is_empty",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class GenerationReport:
    communes: int
    organisations: int
    streets: int
    assets: int
    boundaries: str  # "generated" or "imported"


def registry_is_empty(uow: UnitOfWork) -> bool:
    return assets_queries.asset_count(uow.connection) == 0


def generate_metropolis(
    uow: UnitOfWork,
    actor: Actor,
    *,
    scale: float = 1.0,
    seed: int = 1,
    replace: bool = False,
    progress: Progress | None = None,
) -> GenerationReport:
    """Build the synthetic metropolis for ``seed`` and store it in one transaction.

    Real commune boundaries already imported are kept and the equipment is laid out inside them;
    otherwise plausible boundaries are generated. A registry that already holds assets is only
    replaced when asked, since that erases their history.
    """
    if not registry_is_empty(uow):
        if not replace:
            raise Conflict(
                "the equipment registry is not empty; pass replace to erase it and generate anew"
            )
        assets_services.erase_registry(uow, actor)
    seeds = load_reference_communes()
    boundaries = _imported_boundaries(uow, seeds)
    try:
        metropolis = build_metropolis(
            seeds, scale=scale, seed=seed, boundaries=boundaries, progress=progress
        )
    except ValueError as exc:
        # Imported boundaries can be too small or too odd to lay a street network in.
        raise InvalidInput(f"cannot lay out the synthetic metropolis: {exc}") from exc
    assets = _store_metropolis(
        uow, metropolis, actor, imported=boundaries is not None, progress=progress
    )
    # The reference equipment's alarm rules (idempotent: kept as they are when present).
    alarms_services.install_default_rules(uow, actor)
    reports_services.install_categories(uow, default_categories(), actor)
    install_reference_contract(uow, actor)
    # Fresh statistics let both databases pick the location index for bbox queries.
    uow.connection.exec_driver_sql("ANALYZE")
    return GenerationReport(
        communes=len(metropolis.communes),
        organisations=len(metropolis.organisations),
        streets=len(metropolis.streets),
        assets=assets,
        boundaries="generated" if boundaries is None else "imported",
    )


def _imported_boundaries(uow: UnitOfWork, seeds: list[CommuneSeed]) -> list[Commune] | None:
    """The communes' imported boundaries, None when none were imported; all or nothing."""
    stored = territory_queries.communes(uow.connection)
    boundaries = stored if stored else None
    if boundaries is not None:
        missing = sorted({s.insee for s in seeds} - {c.insee for c in boundaries})
        if missing:
            raise InvalidInput(
                f"the imported boundaries cover {len(seeds) - len(missing)} of the "
                f"{len(seeds)} communes of the metropolis; import the missing ones first: "
                + ", ".join(missing),
                code="incomplete_territory",
            )
    return boundaries


def _store_metropolis(
    uow: UnitOfWork,
    metropolis: SyntheticMetropolis,
    actor: Actor,
    *,
    imported: bool,
    progress: Progress | None,
) -> int:
    """Territory, organisations (each with a field team) and assets; how many assets."""
    territory_services.save_generated_territory(
        uow,
        [] if imported else metropolis.communes,
        [
            {
                "commune_insee": s.commune_insee,
                "name": s.name,
                "category": s.category,
                "line": [list(p) for p in s.line],
            }
            for s in metropolis.streets
        ],
        actor,
    )
    for org in metropolis.organisations:
        accounts_services.save_organisation(uow, org, actor)
        team_code = f"{org.code}-field"
        if accounts_queries.team(uow.connection, team_code) is None:
            # One field team per organisation, for missions and field-agent accounts.
            accounts_services.create_team(
                uow, Team(team_code, f"Field team, {org.name}", org.code), actor
            )
    report = assets_services.import_assets(
        uow, metropolis.assets, actor, source="synthetic metropolis", progress=progress
    )
    return report.total


def install_reference_contract(uow: UnitOfWork, actor: Actor) -> bool:
    """The reference contract and lighting programs, the metropolis on the 23:00–05:00 program;
    left alone when a contract is already there. Whether it was installed."""
    if contracts_services.list_contracts(uow):
        return False
    contracts_services.import_contract(uow, REFERENCE_CONTRACT, actor)
    for code, definition in REFERENCE_PROGRAMS.items():
        contracts_services.put_program(uow, code, definition, actor)
    program, since = REFERENCE_ASSIGNMENT
    contracts_services.assign_program(
        uow,
        program,
        target_type="metropolis",
        target="*",
        effective_from=date.fromisoformat(since),
        actor=actor,
    )
    return True


def install_reference_routing(uow: UnitOfWork, actor: Actor) -> int:
    """The demo's routing: each lot's faults to its contractor's field team, the roads to the
    roads department (`simulate.contract.REFERENCE_ROUTING`), when no rule exists yet; how many
    rules were installed."""
    if cases_services.list_rules(uow):
        return 0
    for rule in REFERENCE_ROUTING:
        cases_services.create_rule(uow, rule, actor)
    return len(REFERENCE_ROUTING)


# Who the demo signs in as: one account per role, in the organisations the generator creates.
DEMO_ACCOUNTS = (
    ("admin", Role.ADMIN, "metropole-it", (), None),
    ("supervisor", Role.SUPERVISOR, "metropole-command-post", (), None),
    ("operator", Role.OPERATOR, "metropole-command-post", (), None),
    ("agent-dijon", Role.COMMUNE_AGENT, "commune-21231", ("21231",), None),
    ("contractor-lighting", Role.CONTRACTOR, "lucerna-eclairage", (), None),
    ("field-dijon", Role.FIELD_AGENT, "commune-21231", (), "commune-21231-field"),
    ("citizen", Role.CITIZEN, None, (), None),
)


def create_demo_accounts(uow: UnitOfWork, actor: Actor) -> list[tuple[str, str, str]]:
    """One account per role with a fresh random password; returns (username, role, password).

    Only the demo calls this: outside demo mode no account or password exists by default.
    """
    created = []
    for username, role, organisation, communes, team in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        user = User(
            username=username,
            role=role,
            organisation=organisation,
            communes=communes,
            team=team,
            display_name=f"Demo {role.value.replace('_', ' ')}",
        )
        accounts_services.create_user(uow, user, password, actor)
        created.append((username, role.value, password))
    return created
