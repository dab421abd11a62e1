"""What part of the city a caller may see, as the query applies it.

The accounts policy computes a scope from who is asking; repositories add it to their WHERE
clause. ``None`` on a dimension means unrestricted; an empty tuple means nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UNRESTRICTED", "Scope"]


@dataclass(frozen=True, slots=True)
class Scope:
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


UNRESTRICTED = Scope()
