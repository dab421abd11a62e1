"""What the documents share: colours, fonts, the labels in each language, and how numbers,
money and dates are written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

FONT_DIR: Final = Path(__file__).parent.parent / "fonts"
FONT_FAMILY: Final = "DejaVu"
PARIS: Final = ZoneInfo("Europe/Paris")  # the contract's clock

# Colours: each at least 4.5:1 against white (they also colour text), as on the pages.
MET: Final = "#1a7f37"
MISSED: Final = "#b3261e"
UNMEASURED: Final = "#6e7781"
CURRENT: Final = "#0b57d0"
BASELINE: Final = "#8a94a6"
INK: Final = "#1b2533"
INK_SOFT: Final = "#4a5567"
LINE: Final = "#d5dbe4"
FONT: Final = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', Arial, sans-serif"

REPORT_COLUMNS: Final = ("section", "item", "label", "field", "value", "unit")
TRANSPARENCY_COLUMNS: Final = ("period", "scope", "commune", *REPORT_COLUMNS)
# Characters that make a spreadsheet read a cell as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "section": "section",
        "item": "item",
        "label": "label",
        "field": "field",
        "value": "value",
        "unit": "unit",
        "period": "period",
        "scope": "scope",
        "commune": "commune",
        "commune_title": "Commune",
        "report": "Performance report",
        "contract": "Contract",
        "parties": "Parties",
        "lot": "Lot",
        "contractor": "Contractor",
        "from_to": "From {start} to {end}",
        "as_of": "Computed on {when}",
        "frozen": "Frozen on {when} by {who}",
        "not_frozen": "Not frozen: figures may still change as facts arrive.",
        "kpis": "Key performance indicators",
        "kpi": "Indicator",
        "measured": "Measured",
        "target": "Target",
        "status": "Status",
        "met": "met",
        "missed": "missed",
        "unmeasured": "not measured",
        "rates_priority": "On-time rates by priority",
        "rates_commune": "On-time rates by commune",
        "priority": "Priority",
        "response": "Response",
        "resolution": "Resolution",
        "on_time_late_pending": "{rate} ({on_time} on time, {late} late, {pending} pending)",
        "mttr": "Mean time to repair",
        "hours": "h",
        "penalties": "Penalties",
        "penalty_items": "Contributing items",
        "rule": "Rule",
        "kind": "Kind",
        "detail": "Detail",
        "amount": "Amount",
        "rules": "Rules and caps",
        "gross": "Gross",
        "capped": "After cap",
        "cap": "Cap",
        "no_cap": "none",
        "lot_cap": "Lot cap",
        "total": "Penalties after caps",
        "bonuses": "Bonuses",
        "bonus_total": "Bonuses",
        "net": "Net amount",
        "missing_kpis": "Indicators with no measured value (never guessed): {codes}",
        "no_items": "No penalty in this period.",
        "energy": "Lighting energy",
        "lamps": "Lamps: {lamps} ({measured} measured, {modelled} modelled)",
        "baseline": "Baseline",
        "current": "Current",
        "saving": "Saving",
        "saving_target": "Target saving",
        "cost": "Cost",
        "co2": "CO₂",
        "month": "Month",
        "order": "order {id}",
        "case": "case {id}",
        "hours_late": "{hours} h late",
        "points": "{points} points",
        "kpi_chart": "Indicators: measured value against target",
        "kpi_bar": "{name}: {value} (target {target}, {status})",
        "kpi_bar_none": "{name}: not measured (target {target})",
        "energy_chart": "Lighting energy by month: baseline and current consumption, kWh",
        "energy_bar": "{month}: {which} {kwh} kWh",
        "penalties_chart": "Penalties by rule, after each rule's cap, €",
        "penalty_bar": "{rule}: {capped} € (gross {gross} €)",
        "empty_chart": "No data for this period.",
        "page": "Page {n}",
        "none": "—",
    },
    "fr": {
        "section": "rubrique",
        "item": "élément",
        "label": "libellé",
        "field": "champ",
        "value": "valeur",
        "unit": "unité",
        "period": "période",
        "scope": "périmètre",
        "commune": "commune",
        "commune_title": "Commune",
        "report": "Rapport de performance",
        "contract": "Marché",
        "parties": "Parties",
        "lot": "Lot",
        "contractor": "Titulaire",
        "from_to": "Du {start} au {end}",
        "as_of": "Calculé le {when}",
        "frozen": "Figé le {when} par {who}",
        "not_frozen": "Non figé\u00a0: les chiffres peuvent encore évoluer avec les faits.",
        "kpis": "Indicateurs de performance",
        "kpi": "Indicateur",
        "measured": "Mesuré",
        "target": "Objectif",
        "status": "État",
        "met": "atteint",
        "missed": "manqué",
        "unmeasured": "non mesuré",
        "rates_priority": "Taux de respect des délais par priorité",
        "rates_commune": "Taux de respect des délais par commune",
        "priority": "Priorité",
        "response": "Prise en charge",
        "resolution": "Résolution",
        "on_time_late_pending": "{rate} ({on_time} à l’heure, {late} en retard, "
        "{pending} en cours)",
        "mttr": "Délai moyen de réparation",
        "hours": "h",
        "penalties": "Pénalités",
        "penalty_items": "Éléments contributifs",
        "rule": "Règle",
        "kind": "Nature",
        "detail": "Détail",
        "amount": "Montant",
        "rules": "Règles et plafonds",
        "gross": "Brut",
        "capped": "Après plafond",
        "cap": "Plafond",
        "no_cap": "aucun",
        "lot_cap": "Plafond du lot",
        "total": "Pénalités après plafonds",
        "bonuses": "Bonus",
        "bonus_total": "Bonus",
        "net": "Montant net",
        "missing_kpis": "Indicateurs sans valeur mesurée (jamais estimée)\u00a0: {codes}",
        "no_items": "Aucune pénalité sur cette période.",
        "energy": "Énergie de l’éclairage",
        "lamps": "Points lumineux\u00a0: {lamps} ({measured} mesurés, {modelled} modélisés)",
        "baseline": "Référence",
        "current": "Actuelle",
        "saving": "Économie",
        "saving_target": "Économie visée",
        "cost": "Coût",
        "co2": "CO₂",
        "month": "Mois",
        "order": "bon {id}",
        "case": "dossier {id}",
        "hours_late": "{hours} h de retard",
        "points": "{points} points",
        "kpi_chart": "Indicateurs\u00a0: valeur mesurée et objectif",
        "kpi_bar": "{name}\u00a0: {value} (objectif {target}, {status})",
        "kpi_bar_none": "{name}\u00a0: non mesuré (objectif {target})",
        "energy_chart": "Énergie de l’éclairage par mois\u00a0: consommation de référence "
        "et actuelle, kWh",
        "energy_bar": "{month}\u00a0: {which} {kwh} kWh",
        "penalties_chart": "Pénalités par règle, après le plafond de chaque règle, €",
        "penalty_bar": "{rule}\u00a0: {capped} € (brut {gross} €)",
        "empty_chart": "Aucune donnée sur cette période.",
        "page": "Page {n}",
        "none": "—",
    },
}


# ---- Formatting ------------------------------------------------------------------------------


def label_of(lang: str | None, key: str, **values: object) -> str:
    messages = LABELS.get(lang or "en", LABELS["en"])
    template = messages.get(key, LABELS["en"].get(key, key))
    return template.format(**values) if values else template


def as_number(value: Any) -> float | None:
    """A finite number from a float, an int or a decimal string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str | Decimal):
        try:
            number = float(Decimal(str(value)))
        except (InvalidOperation, ValueError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_numeric(value: Any) -> int | float | None:
    """A number as given (an int stays an int in a CSV), or None when not a finite number."""
    if isinstance(value, bool) or as_number(value) is None:
        return None
    if isinstance(value, int | float):
        return value
    return as_number(value)


def number_text(value: Any, lang: str = "en", *, decimals: int = 1) -> str:
    """34,000 / 93.2 in English, 34 000 / 93,2 in French; ``—`` when unmeasured."""
    number = as_number(value)
    if number is None:
        return label_of(lang, "none")
    text = f"{number:,.0f}" if float(number).is_integer() else f"{number:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def money_text(value: Any, lang: str = "en") -> str:
    """An amount in euros with cents: 1,234.50 € / 1 234,50 €."""
    number = as_number(value)
    if number is None:
        return label_of(lang, "none")
    text = f"{number:,.2f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def measure_text(value: Any, unit: str, lang: str = "en") -> str:
    """A KPI value with its unit: 93.2% / 93,2 %, 5.2 h."""
    if as_number(value) is None:
        return label_of(lang, "none")
    number = as_number(value) or 0.0
    text = number_text(number, lang, decimals=2 if abs(number) < 1 else 1)
    if unit == "%":
        return f"{text}\u00a0%" if lang == "fr" else f"{text}%"
    return f"{text}\u00a0{unit}" if unit else text


def rate_text(rate: Any, lang: str = "en") -> str:
    """A rate given as a fraction (0.75) as a percentage."""
    number = as_number(rate)
    if number is None:
        return label_of(lang, "none")
    return measure_text(round(number * 100, 1), "%", lang)


def date_text(value: Any, *, with_time: bool = False, exclusive_end: bool = False) -> str:
    """An ISO instant of the services as a Paris date (``2026-03-31``) or date and time
    (``2026-04-02 10:00``); ``exclusive_end``: the last day before that instant."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        return instant.date().isoformat() if not with_time else f"{instant:%Y-%m-%d %H:%M}"
    local = instant.astimezone(PARIS)
    if exclusive_end:
        local -= timedelta(seconds=1)
    return f"{local:%Y-%m-%d %H:%M}" if with_time else local.date().isoformat()


def kpi_status(kpi: Mapping[str, Any]) -> str:
    met = kpi.get("met")
    if met is None or as_number(kpi.get("value")) is None:
        return "unmeasured"
    return "met" if met else "missed"


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def xml_text(value: Any) -> str:
    """XML-escaped text, quotes included (the text may sit in an attribute)."""
    return escape(as_text(value), {'"': "&quot;", "'": "&#39;"})


def coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
