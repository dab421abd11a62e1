"""Generate the synthetic metropolis into the configured database, through the normal services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from metropilot.accounts import services as accounts_services
from metropilot.assets import repository as assets_repository
from metropilot.assets import services as assets_services
from metropilot.db.uow import UnitOfWork
from metropilot.shared.actors import Actor
from metropilot.shared.errors import Conflict, InvalidInput
from metropilot.simulate.layout import build_metropolis, load_reference_communes
from metropilot.territory import repository as territory_repository

__all__ = ["GenerationReport", "generate_metropolis", "registry_is_empty"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class GenerationReport:
    communes: int
    organisations: int
    streets: int
    assets: int
    boundaries: str  # "generated" or "imported"


def registry_is_empty(uow: UnitOfWork) -> bool:
    return assets_repository.count_assets(uow.connection) == 0


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
    conn = uow.connection
    if not registry_is_empty(uow):
        if not replace:
            raise Conflict(
                "the equipment registry is not empty; pass replace to erase it and generate anew"
            )
        assets_repository.delete_all(conn)
    stored = territory_repository.list_communes(conn)
    seeds = load_reference_communes()
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
    try:
        metropolis = build_metropolis(
            seeds, scale=scale, seed=seed, boundaries=boundaries, progress=progress
        )
    except ValueError as exc:
        # Imported boundaries can be too small or too odd to lay a street network in.
        raise InvalidInput(f"cannot lay out the synthetic metropolis: {exc}") from exc
    if boundaries is None:
        for commune in metropolis.communes:
            territory_repository.save_commune(conn, commune)
    for org in metropolis.organisations:
        accounts_services.save_organisation(uow, org, actor)
    territory_repository.delete_streets(conn)
    territory_repository.save_streets(
        conn,
        (
            {
                "commune_insee": s.commune_insee,
                "name": s.name,
                "category": s.category,
                "line": [list(p) for p in s.line],
            }
            for s in metropolis.streets
        ),
    )
    report = assets_services.import_assets(
        uow, metropolis.assets, actor, source="synthetic metropolis", progress=progress
    )
    # Fresh statistics let both databases pick the location index for bbox queries.
    conn.exec_driver_sql("ANALYZE")
    return GenerationReport(
        communes=len(metropolis.communes),
        organisations=len(metropolis.organisations),
        streets=len(metropolis.streets),
        assets=report.total,
        boundaries="generated" if boundaries is None else "imported",
    )
