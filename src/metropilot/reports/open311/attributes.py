"""A citizen's answers to a service's questions, checked against its definition. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date

from metropilot.reports.open311.documents import AttributeDefinition
from metropilot.reports.open311.params import parse_w3c

__all__ = ["retain_defined_attributes", "validate_attributes"]


def validate_attributes(
    definitions: Sequence[AttributeDefinition], submitted: Mapping[str, str | list[str]]
) -> list[str]:
    """Every problem with the submitted answers, one description per attribute, naming it as
    the client sent it (``attribute[CODE]``). Empty means valid.

    Codes the definition does not know, and answers to informational (``variable=false``)
    attributes, are not errors: they are dropped by :func:`retain_defined_attributes`.
    """
    problems: list[str] = []
    for definition in sorted(definitions, key=lambda d: d.order):
        if not definition.variable:
            continue
        answer = submitted.get(definition.code)
        values = [answer] if isinstance(answer, str) else list(answer or [])
        problem = _attribute_problem(definition, values)
        if problem is not None:
            problems.append(f"attribute[{definition.code}] {problem}")
    return problems


def _attribute_problem(definition: AttributeDefinition, values: list[str]) -> str | None:
    if not values:
        return f"is required ({definition.description})" if definition.required else None
    if definition.datatype != "multivaluelist" and len(values) > 1:
        return f"takes one value, got {len(values)}"
    if definition.datatype in ("singlevaluelist", "multivaluelist"):
        keys = [option.key for option in definition.values]
        unknown = [v for v in values if v not in keys]
        if unknown:
            listed = ", ".join(repr(v) for v in unknown)
            return f"has no value {listed}; expected one of {', '.join(keys)}"
        return None
    value = values[0]
    if definition.datatype == "string" and ("\n" in value or "\r" in value):
        return "is a single line of text: line breaks are not allowed"
    if definition.datatype == "number" and not _is_number(value):
        return f"must be a number, got {value!r}"
    if definition.datatype == "datetime" and not _is_date_or_datetime(value):
        return (
            f"must be an ISO 8601 date (2024-05-01) or date and time with an offset "
            f"(2024-05-01T08:30:00+02:00), got {value!r}"
        )
    return None


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def _is_date_or_datetime(value: str) -> bool:
    if parse_w3c(value) is not None:
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def retain_defined_attributes(
    definitions: Sequence[AttributeDefinition], submitted: Mapping[str, str | list[str]]
) -> dict[str, str | list[str]]:
    """The answers worth storing: defined, variable attributes only; a multivaluelist answer is
    always a list (without repeats), any other a string. Call after validation."""
    kept: dict[str, str | list[str]] = {}
    for definition in definitions:
        answer = submitted.get(definition.code)
        if not definition.variable or answer is None:
            continue
        values = [answer] if isinstance(answer, str) else list(dict.fromkeys(answer))
        if not values:
            continue
        kept[definition.code] = values if definition.datatype == "multivaluelist" else values[0]
    return kept
