"""What other contexts may read of the equipment registry, without its tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Connection, or_, select

from metropilot.assets import repository

__all__ = ["DirectoryRow", "directory_rows"]


# --- read by telemetry ---


class DirectoryRow(NamedTuple):
    """What the ingest directory keeps of one asset (a named tuple: one is read per asset of
    the metropolis when a worker starts)."""

    id: int
    external_ref: str
    kind: str
    commune: str
    maintainer_id: int | None
    parent_id: int | None
    status: str


def directory_rows(conn: Connection, ref: str | None = None) -> Iterator[DirectoryRow]:
    """Every asset (streamed), or the one whose external reference — or id, when ``ref`` is a
    number — is ``ref``."""
    a = repository.assets.c
    query = select(
        a.id, a.external_ref, a.kind, a.commune_insee, a.maintainer_id, a.parent_id, a.status
    )
    if ref is not None:
        query = query.where(
            or_(a.external_ref == ref, a.id == int(ref))
            if ref.isdigit() and len(ref) < 18
            else a.external_ref == ref
        )
    for row in conn.execution_options(stream_results=True, yield_per=20_000).execute(query):
        yield DirectoryRow(
            int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], row[5], str(row[6])
        )
