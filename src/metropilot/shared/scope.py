"""What part of the city a caller may see, as the query applies it.

The accounts policy computes a scope from who is asking; repositories add it to their WHERE
clause, for the reads and for the writes alike: a write looks up every object it names through
the same scoped query as the read of that object, so that an object outside the caller's scope
does not exist for the write either. ``None`` on a dimension means unrestricted; an empty tuple
means nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALL_WORK", "UNRESTRICTED", "Scope", "WorkScope"]


@dataclass(frozen=True, slots=True)
class Scope:
    """The equipment a caller sees (and the places: a commune is in scope when the commune
    dimension names it or does not restrict)."""

    communes: tuple[str, ...] | None = None  # INSEE codes
    maintainer_ids: tuple[int, ...] | None = None  # organisation ids
    kinds: tuple[str, ...] | None = None  # asset kinds
    # When set, an asset must also match at least one of these (each a conjunction): a key with
    # "cameras in Dijon" and "lights in Chenôve" sees exactly those, not every combination.
    any_of: tuple[Scope, ...] | None = None

    @property
    def unrestricted(self) -> bool:
        return (
            self.communes is None
            and self.maintainer_ids is None
            and self.kinds is None
            and self.any_of is None
        )

    def allows(self, commune: str, maintainer_id: int | None, kind: str) -> bool:
        own = (
            (self.communes is None or commune in self.communes)
            and (self.maintainer_ids is None or maintainer_id in self.maintainer_ids)
            and (self.kinds is None or kind in self.kinds)
        )
        if not own or self.any_of is None:
            return own
        return any(alt.allows(commune, maintainer_id, kind) for alt in self.any_of)

    def allows_commune(self, commune: str) -> bool:
        """Whether a place in this commune (a case opened on a commune, not on an asset) is in
        the scope. Only the commune dimension narrows places: a contractor, who sees what it
        maintains wherever it stands, may name any commune."""
        own = self.communes is None or commune in self.communes
        if not own or self.any_of is None:
            return own
        return any(alt.allows_commune(commune) for alt in self.any_of)


UNRESTRICTED = Scope()


@dataclass(frozen=True, slots=True)
class WorkScope:
    """The cases, work orders and citizen reports a caller sees: those in its communes (a
    commune agent), those assigned to its organisation (a contractor, a field agent's team)."""

    communes: tuple[str, ...] | None = None  # INSEE codes
    organisation_ids: tuple[int, ...] | None = None  # the assigned organisation

    @property
    def unrestricted(self) -> bool:
        return self.communes is None and self.organisation_ids is None

    def allows(self, commune: str | None, organisation_id: int | None) -> bool:
        return (self.communes is None or commune in self.communes) and (
            self.organisation_ids is None or organisation_id in self.organisation_ids
        )


ALL_WORK = WorkScope()
