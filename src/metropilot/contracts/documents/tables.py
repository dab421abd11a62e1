"""CSV: one long table, a row per fact."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from metropilot.contracts.documents.text import (
    FORMULA_START,
    REPORT_COLUMNS,
    TRANSPARENCY_COLUMNS,
    as_number,
    as_numeric,
    as_text,
    kpi_status,
    label_of,
)

# ---- CSV -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A CSV cell: numbers the machine way, booleans as true/false, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = as_number(value)
        if number is None:
            return ""
        return str(value) if not isinstance(value, float) else repr(round(value, 6))
    text = str(value)
    if text.startswith(FORMULA_START) and as_number(text) is None:
        return "'" + text
    return text


def _write(columns: Sequence[str], rows: Iterable[Sequence[Any]], lang: str | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label_of(lang, c) if lang else c for c in columns])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


Row = tuple[str, str, str, str, Any, str]


def _kpi_rows(kpis: Iterable[Mapping[str, Any]], section: str = "kpi") -> Iterator[Row]:
    for kpi in kpis:
        code, name, unit = (
            as_text(kpi.get("code")),
            as_text(kpi.get("name")),
            as_text(kpi.get("unit")),
        )
        yield section, code, name, "value", as_numeric(kpi.get("value")), unit
        yield section, code, name, "target", as_numeric(kpi.get("target")), unit
        yield section, code, name, "direction", as_text(kpi.get("direction")), ""
        yield section, code, name, "status", kpi_status(kpi), ""
        basis = kpi.get("basis")
        if isinstance(basis, Mapping):
            for key, count in basis.items():
                if as_numeric(count) is not None and not isinstance(count, bool):
                    yield section, code, name, f"basis.{key}", count, ""


def _rate_rows(section: str, item: str, label: str, entry: Mapping[str, Any]) -> Iterator[Row]:
    for stage in ("response", "resolution"):
        counts = entry.get(stage)
        if not isinstance(counts, Mapping):
            continue
        for key in ("on_time", "late", "pending"):
            if as_numeric(counts.get(key)) is not None:
                yield section, item, label, f"{stage}.{key}", counts.get(key), ""
        rate = as_numeric(counts.get("rate"))
        yield section, item, label, f"{stage}.rate", None if rate is None else rate * 100, "%"


def _energy_rows(energy: Mapping[str, Any] | None) -> Iterator[Row]:
    if not energy:
        return
    figures = (
        ("lamps", ""),
        ("measured_lamps", ""),
        ("modelled_lamps", ""),
        ("baseline_kwh", "kWh"),
        ("current_kwh", "kWh"),
        ("saving_pct", "%"),
        ("target_pct", "%"),
        ("baseline_eur", "EUR"),
        ("eur", "EUR"),
        ("baseline_co2_kg", "kg"),
        ("co2_kg", "kg"),
    )
    period = as_text(energy.get("period"))
    yield "energy", period, "", "source", as_text(energy.get("source")), ""
    for key, unit in figures:
        yield "energy", period, "", key, as_numeric(energy.get(key)), unit
    tariff = energy.get("tariff")
    if isinstance(tariff, Mapping):
        yield "energy", period, "", "eur_per_kwh", as_numeric(tariff.get("eur_per_kwh")), "EUR/kWh"
        yield (
            "energy",
            period,
            "",
            "kg_co2_per_kwh",
            as_numeric(tariff.get("kg_co2_per_kwh")),
            "kg/kWh",
        )
    for month in energy.get("months") or []:
        item = as_text(month.get("period"))
        for key, unit in (("baseline_kwh", "kWh"), ("current_kwh", "kWh"), ("saving_pct", "%")):
            yield "energy_month", item, "", key, as_numeric(month.get(key)), unit


def _penalty_rows(penalties: Mapping[str, Any] | None) -> Iterator[Row]:
    if not penalties:
        return
    for n, item in enumerate(penalties.get("items") or [], start=1):
        rule = as_text(item.get("rule"))
        ref = f"{n}"
        yield "penalty_item", ref, rule, "kind", as_text(item.get("kind")), ""
        yield "penalty_item", ref, rule, "amount", as_text(item.get("amount")), "EUR"
        for key, unit in (
            ("order_id", ""),
            ("case_id", ""),
            ("stage", ""),
            ("hours_late", "h"),
            ("kpi", ""),
            ("measured", ""),
            ("target", ""),
            ("points", ""),
        ):
            value = item.get(key)
            if value is not None:
                yield "penalty_item", ref, rule, key, as_text(value), unit
    for rule in penalties.get("rules") or []:
        name = as_text(rule.get("rule"))
        for key in ("gross", "capped", "cap"):
            yield "penalty_rule", name, "", key, as_text(rule.get(key)) or None, "EUR"
    for bonus in penalties.get("bonuses") or []:
        name = as_text(bonus.get("rule"))
        for key in ("kpi", "measured", "target", "points", "amount"):
            unit = "EUR" if key == "amount" else ""
            value = bonus.get(key)
            yield "bonus", name, "", key, None if value is None else as_text(value), unit
    for key in ("gross", "cap", "total", "bonus_total", "net"):
        value = penalties.get(key)
        yield "penalty_total", key, "", "amount", None if value is None else as_text(value), "EUR"
    yield "penalty_total", "frozen", "", "value", bool(penalties.get("frozen")), ""
    if penalties.get("frozen_at"):
        yield "penalty_total", "frozen_at", "", "value", as_text(penalties.get("frozen_at")), ""
    for code in penalties.get("missing_kpis") or []:
        yield "missing_kpi", as_text(code), "", "value", None, ""


def _report_rows(report: Mapping[str, Any]) -> Iterator[Row]:
    contract = report.get("contract") or {}
    for key, value in (
        ("contract", contract.get("code")),
        ("lot", report.get("lot")),
        ("contractor", report.get("contractor")),
        ("period", report.get("period")),
        ("from", report.get("from")),
        ("to", report.get("to")),
        ("as_of", report.get("as_of")),
    ):
        yield "report", key, "", "value", as_text(value), ""
    yield "report", "mttr_hours", "", "value", as_numeric(report.get("mttr_hours")), "h"
    yield from _kpi_rows(report.get("kpis") or [])
    rates = report.get("rates") or {}
    for entry in rates.get("by_priority") or []:
        priority = as_text(entry.get("priority"))
        yield from _rate_rows("rates_priority", priority, priority, entry)
    for entry in rates.get("by_commune") or []:
        yield from _rate_rows(
            "rates_commune", as_text(entry.get("commune")), as_text(entry.get("name")), entry
        )
    yield from _penalty_rows(report.get("penalties"))
    yield from _energy_rows(report.get("energy"))


def period_report_csv(report: Mapping[str, Any], lang: str | None = None) -> str:
    """The staff report of one period and lot as CSV (headers in ``lang``, codes if None)."""
    return _write(REPORT_COLUMNS, _report_rows(report), lang)


def transparency_csv(data: Mapping[str, Any], lang: str | None = None) -> str:
    """The public figures as CSV: each row carries the period, the scope and the commune, so
    that the files of several communes and years concatenate."""
    period = as_text(data.get("period"))
    scope = as_text(data.get("scope"))
    commune = data.get("commune") or {}
    insee = as_text(commune.get("insee")) if isinstance(commune, Mapping) else ""

    def rows() -> Iterator[Sequence[Any]]:
        contract = data.get("contract") or {}
        if contract:
            for key in ("code", "start", "end"):
                yield (period, scope, insee, "contract", key, "", "value", contract.get(key), "")
        for lot in data.get("lots") or []:
            code = as_text(lot.get("lot"))
            yield (period, scope, insee, "lot", code, "", "contractor", lot.get("contractor"), "")
            for row in _kpi_rows(lot.get("kpis") or [], section=f"kpi.{code}"):
                if not row[3].startswith("basis."):
                    yield (period, scope, insee, *row)
        for row in _energy_rows(data.get("energy")):
            yield (period, scope, insee, *row)
        if data.get("penalties_eur") is not None:
            amount = as_text(data.get("penalties_eur"))
            yield (period, scope, insee, "penalties", "total", "", "amount", amount, "EUR")

    return _write(TRANSPARENCY_COLUMNS, rows(), lang)
