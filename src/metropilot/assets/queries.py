"""What other contexts may read of the asset registry: small typed reads, no table leaves here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from metropilot.assets import repository
from metropilot.shared.geo import BBox

# --- read by reports ---


@dataclass(frozen=True, slots=True)
class LocatedAsset:
    """An asset in service, where it stands and who maintains it (an organisation id)."""

    id: int
    lon: float
    lat: float
    maintainer_id: int | None


def assets_in_service_within(connection: Connection, kind: str, box: BBox) -> list[LocatedAsset]:
    """The assets of ``kind`` inside ``box`` that are not decommissioned (a citizen report of
    that kind is linked to the nearest of them)."""
    a = repository.assets.c
    rows = connection.execute(
        select(a.id, a.lon, a.lat, a.maintainer_id).where(
            and_(
                a.kind == kind,
                a.lon.between(box.min_lon, box.max_lon),
                a.lat.between(box.min_lat, box.max_lat),
                a.status != "decommissioned",
            )
        )
    ).all()
    return [
        LocatedAsset(
            id=int(row.id),
            lon=float(row.lon),
            lat=float(row.lat),
            maintainer_id=None if row.maintainer_id is None else int(row.maintainer_id),
        )
        for row in rows
    ]


def maintainer_of(connection: Connection, asset_id: int) -> int | None:
    """The organisation that maintains an asset; None when none does or the asset is unknown."""
    a = repository.assets.c
    found = connection.execute(select(a.maintainer_id).where(a.id == asset_id)).scalar_one_or_none()
    return None if found is None else int(found)
