"""Documents of the performance contract: charts (SVG), CSV and PDF, from the services' dicts. Pure.

The inputs are the dictionaries ``contracts.services.period_report`` and
``contracts.services.transparency`` return; nothing here reads a database or a request.

- **Charts** are standalone ``<svg>`` elements, drawn on the server so that the pages need no
  script: each has a ``<title>`` and a ``<desc>`` (the chart as a sentence), one ``<title>`` per
  bar (a tooltip and what a screen reader says), and only presentation attributes (no ``style``
  attribute, which the pages' CSP forbids). Texts are XML-escaped.
- **CSV** is one long table: a row per fact (``section``, ``item``, ``label``, ``field``,
  ``value``, ``unit``). The codes of sections and fields are stable (an export may be re-read by
  a program); the column headers are in the language asked, or codes when none is. Numbers are
  written the machine way (``1234.5``), texts that a spreadsheet would take for a formula are
  prefixed with ``'``.
- **PDF** (fpdf2) embeds DejaVu Sans (``fonts/``, Bitstream Vera licence), so € and CO₂ print.

Only the fields named here are ever written: an unexpected key in an input (a name, an e-mail
address) never reaches a document. Free-form ``basis`` counts are written only when numeric.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

__all__ = [
    "FONT_DIR",
    "date_text",
    "energy_chart",
    "kpi_chart",
    "measure_text",
    "money_text",
    "number_text",
    "penalties_chart",
    "period_report_csv",
    "period_report_pdf",
    "rate_text",
    "transparency_csv",
]

FONT_DIR: Final = Path(__file__).parent / "fonts"
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

_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
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


def _label(lang: str | None, key: str, **values: object) -> str:
    messages = _LABELS.get(lang or "en", _LABELS["en"])
    template = messages.get(key, _LABELS["en"].get(key, key))
    return template.format(**values) if values else template


def _number(value: Any) -> float | None:
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


def _numeric(value: Any) -> int | float | None:
    """A number as given (an int stays an int in a CSV), or None when not a finite number."""
    if isinstance(value, bool) or _number(value) is None:
        return None
    if isinstance(value, int | float):
        return value
    return _number(value)


def number_text(value: Any, lang: str = "en", *, decimals: int = 1) -> str:
    """34,000 / 93.2 in English, 34 000 / 93,2 in French; ``—`` when unmeasured."""
    number = _number(value)
    if number is None:
        return _label(lang, "none")
    text = f"{number:,.0f}" if float(number).is_integer() else f"{number:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def money_text(value: Any, lang: str = "en") -> str:
    """An amount in euros with cents: 1,234.50 € / 1 234,50 €."""
    number = _number(value)
    if number is None:
        return _label(lang, "none")
    text = f"{number:,.2f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text}\u00a0€"


def measure_text(value: Any, unit: str, lang: str = "en") -> str:
    """A KPI value with its unit: 93.2% / 93,2 %, 5.2 h."""
    if _number(value) is None:
        return _label(lang, "none")
    number = _number(value) or 0.0
    text = number_text(number, lang, decimals=2 if abs(number) < 1 else 1)
    if unit == "%":
        return f"{text}\u00a0%" if lang == "fr" else f"{text}%"
    return f"{text}\u00a0{unit}" if unit else text


def rate_text(rate: Any, lang: str = "en") -> str:
    """A rate given as a fraction (0.75) as a percentage."""
    number = _number(rate)
    if number is None:
        return _label(lang, "none")
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


def _kpi_status(kpi: Mapping[str, Any]) -> str:
    met = kpi.get("met")
    if met is None or _number(kpi.get("value")) is None:
        return "unmeasured"
    return "met" if met else "missed"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _x(value: Any) -> str:
    """XML-escaped text, quotes included (the text may sit in an attribute)."""
    return escape(_text(value), {'"': "&quot;", "'": "&#39;"})


def _coord(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


# ---- Charts ----------------------------------------------------------------------------------


def _svg(
    chart_id: str, width: float, height: float, title: str, desc: str, body: Iterable[str]
) -> str:
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_x(chart_id)}" '
            f'viewBox="0 0 {_coord(width)} {_coord(height)}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-labelledby="{_x(chart_id)}-title {_x(chart_id)}-desc" '
            f'font-family="{_x(FONT)}" font-size="13" fill="{INK}">',
            f'<title id="{_x(chart_id)}-title">{_x(title)}</title>',
            f'<desc id="{_x(chart_id)}-desc">{_x(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _empty(chart_id: str, title: str, lang: str) -> str:
    message = _label(lang, "empty_chart")
    return _svg(
        chart_id,
        480,
        48,
        title,
        message,
        [f'<text x="8" y="28" fill="{INK_SOFT}">{_x(message)}</text>'],
    )


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kpi_chart(
    kpis: Sequence[Mapping[str, Any]], lang: str = "en", *, chart_id: str = "kpi-chart"
) -> str:
    """One row per indicator: the measured value as a bar (green met, red missed, none when
    unmeasured) and the target as a dark tick, each on its own scale (units differ)."""
    title = _label(lang, "kpi_chart")
    if not kpis:
        return _empty(chart_id, title, lang)
    label_w, bar_w, value_w, row_h = 220.0, 300.0, 150.0, 34.0
    width = label_w + bar_w + value_w
    height = row_h * len(kpis) + 8
    body: list[str] = []
    sentences: list[str] = []
    for n, kpi in enumerate(kpis):
        name = _text(kpi.get("name") or kpi.get("code"))
        unit = _text(kpi.get("unit"))
        value = _number(kpi.get("value"))
        target = _number(kpi.get("target"))
        status = _kpi_status(kpi)
        top = 4 + n * row_h
        scale = 100.0 if unit == "%" else max(value or 0.0, target or 0.0, 1e-9) * 1.2
        target_text = measure_text(target, unit, lang)
        if value is None:
            sentence = _label(lang, "kpi_bar_none", name=name, target=target_text)
        else:
            sentence = _label(
                lang,
                "kpi_bar",
                name=name,
                value=measure_text(value, unit, lang),
                target=target_text,
                status=_label(lang, status),
            )
        sentences.append(sentence)
        colour = {"met": MET, "missed": MISSED}.get(status, UNMEASURED)
        parts = [
            f'<g class="chart__row chart__row--{status}">',
            f"<title>{_x(sentence)}</title>",
            f'<text x="0" y="{_coord(top + 21)}">{_x(_short(name))}</text>',
            f'<rect x="{_coord(label_w)}" y="{_coord(top + 6)}" width="{_coord(bar_w)}" '
            f'height="20" fill="#f2f4f8" stroke="{LINE}"/>',
        ]
        if value is not None:
            filled = bar_w * min(max(value / scale, 0.0), 1.0)
            parts.append(
                f'<rect x="{_coord(label_w)}" y="{_coord(top + 6)}" '
                f'width="{_coord(filled)}" height="20" fill="{colour}"/>'
            )
        if target is not None:
            tick = label_w + bar_w * min(max(target / scale, 0.0), 1.0)
            parts.append(
                f'<line x1="{_coord(tick)}" x2="{_coord(tick)}" y1="{_coord(top + 1)}" '
                f'y2="{_coord(top + 31)}" stroke="{INK}" stroke-width="3"/>'
            )
        shown = measure_text(value, unit, lang) if value is not None else _label(lang, status)
        parts.append(
            f'<text x="{_coord(label_w + bar_w + 8)}" y="{_coord(top + 21)}" '
            f'fill="{colour if value is not None else INK_SOFT}">{_x(shown)} / '
            f"{_x(target_text)}</text>"
        )
        parts.append("</g>")
        body.extend(parts)
    return _svg(chart_id, width, height, title, " ".join(sentences), body)


def _ticks(top: float) -> list[float]:
    """Round steps from 0 to just above ``top``: 0, 2,000, 4,000…"""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    count = math.ceil(top / step)
    return [i * step for i in range(count + 1)]


def energy_chart(
    energy: Mapping[str, Any] | None, lang: str = "en", *, chart_id: str = "energy-chart"
) -> str:
    """Grouped columns per month: the baseline (grey) and the current consumption (blue)."""
    title = _label(lang, "energy_chart")
    months = list((energy or {}).get("months") or [])
    if not months:
        return _empty(chart_id, title, lang)
    pairs = [
        (
            _text(m.get("period")),
            _number(m.get("baseline_kwh")),
            _number(m.get("current_kwh")),
        )
        for m in months
    ]
    top = max([v for _, b, c in pairs for v in (b, c) if v is not None] or [0.0])
    ticks = _ticks(top)
    ceiling = ticks[-1] or 1.0
    left, right, plot_top, plot_h, legend_h = 84.0, 12.0, 36.0, 220.0, 44.0
    # Twelve months fill the width; fewer get wider groups, so every chart has one size.
    group = max(48.0, 576.0 / len(pairs))
    width = left + right + group * len(pairs)
    height = plot_top + plot_h + legend_h
    baseline_word = _label(lang, "baseline")
    current_word = _label(lang, "current")
    body = [
        f'<rect x="{_coord(left)}" y="6" width="14" height="14" fill="{BASELINE}"/>',
        f'<text x="{_coord(left + 20)}" y="18">{_x(baseline_word)}</text>',
        f'<rect x="{_coord(left + 140)}" y="6" width="14" height="14" fill="{CURRENT}"/>',
        f'<text x="{_coord(left + 160)}" y="18">{_x(current_word)}</text>',
    ]
    for tick in ticks:
        y = plot_top + plot_h - plot_h * tick / ceiling
        body.append(
            f'<line x1="{_coord(left)}" x2="{_coord(width - right)}" y1="{_coord(y)}" '
            f'y2="{_coord(y)}" stroke="{LINE}"/>'
            f'<text x="{_coord(left - 6)}" y="{_coord(y + 4)}" text-anchor="end" '
            f'font-size="11" fill="{INK_SOFT}">{_x(number_text(tick, lang))}</text>'
        )
    sentences = []
    bar = min((group - 12) / 2, 40.0)
    for n, (month, baseline, current) in enumerate(pairs):
        x0 = left + group * n + (group - 2 * bar - 1) / 2
        body.append('<g class="chart__group">')
        for k, (which, value, colour) in enumerate(
            ((baseline_word, baseline, BASELINE), (current_word, current, CURRENT))
        ):
            sentence = _label(
                lang,
                "energy_bar",
                month=month,
                which=which.lower(),
                kwh=number_text(value, lang, decimals=0),
            )
            sentences.append(sentence)
            if value is None:
                continue
            h = plot_h * max(value, 0.0) / ceiling
            body.append(
                f'<rect x="{_coord(x0 + (bar + 1) * k)}" y="{_coord(plot_top + plot_h - h)}" '
                f'width="{_coord(bar)}" height="{_coord(h)}" fill="{colour}">'
                f"<title>{_x(sentence)}</title></rect>"
            )
        body.append(
            f'<text x="{_coord(x0 + bar)}" y="{_coord(plot_top + plot_h + 16)}" '
            f'text-anchor="middle" font-size="11">{_x(month[-2:] if len(month) == 7 else month)}'
            "</text></g>"
        )
    body.append(
        f'<line x1="{_coord(left)}" x2="{_coord(width - right)}" '
        f'y1="{_coord(plot_top + plot_h)}" y2="{_coord(plot_top + plot_h)}" stroke="{INK}"/>'
    )
    return _svg(chart_id, width, height, title, " ".join(sentences), body)


def penalties_chart(
    penalties: Mapping[str, Any] | None, lang: str = "en", *, chart_id: str = "penalties-chart"
) -> str:
    """One bar per rule: the amount after the rule's cap, over a pale bar of the gross."""
    title = _label(lang, "penalties_chart")
    rules = [r for r in (penalties or {}).get("rules") or [] if _number(r.get("gross"))]
    if not rules:
        return _empty(chart_id, title, lang)
    label_w, bar_w, value_w, row_h = 160.0, 300.0, 170.0, 30.0
    top = max(_number(r.get("gross")) or 0.0 for r in rules) or 1.0
    body: list[str] = []
    sentences = []
    for n, rule in enumerate(rules):
        gross = _number(rule.get("gross")) or 0.0
        capped = _number(rule.get("capped"))
        capped = gross if capped is None else capped
        name = _text(rule.get("rule"))
        y = 4 + n * row_h
        sentence = _label(
            lang,
            "penalty_bar",
            rule=name,
            capped=money_text(capped, lang).removesuffix("\u00a0€"),
            gross=money_text(gross, lang).removesuffix("\u00a0€"),
        )
        sentences.append(sentence)
        body.extend(
            [
                '<g class="chart__row">',
                f"<title>{_x(sentence)}</title>",
                f'<text x="0" y="{_coord(y + 18)}">{_x(_short(name, 20))}</text>',
                f'<rect x="{_coord(label_w)}" y="{_coord(y + 4)}" '
                f'width="{_coord(bar_w * gross / top)}" height="18" fill="#f4c7c3"/>',
                f'<rect x="{_coord(label_w)}" y="{_coord(y + 4)}" '
                f'width="{_coord(bar_w * max(capped, 0.0) / top)}" height="18" fill="{MISSED}"/>',
                f'<text x="{_coord(label_w + bar_w + 8)}" y="{_coord(y + 18)}">'
                f"{_x(money_text(capped, lang))}</text>",
                "</g>",
            ]
        )
    width = label_w + bar_w + value_w
    return _svg(chart_id, width, row_h * len(rules) + 8, title, " ".join(sentences), body)


# ---- CSV -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A CSV cell: numbers the machine way, booleans as true/false, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = _number(value)
        if number is None:
            return ""
        return str(value) if not isinstance(value, float) else repr(round(value, 6))
    text = str(value)
    if text.startswith(FORMULA_START) and _number(text) is None:
        return "'" + text
    return text


def _write(columns: Sequence[str], rows: Iterable[Sequence[Any]], lang: str | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_label(lang, c) if lang else c for c in columns])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


Row = tuple[str, str, str, str, Any, str]


def _kpi_rows(kpis: Iterable[Mapping[str, Any]], section: str = "kpi") -> Iterator[Row]:
    for kpi in kpis:
        code, name, unit = _text(kpi.get("code")), _text(kpi.get("name")), _text(kpi.get("unit"))
        yield section, code, name, "value", _numeric(kpi.get("value")), unit
        yield section, code, name, "target", _numeric(kpi.get("target")), unit
        yield section, code, name, "direction", _text(kpi.get("direction")), ""
        yield section, code, name, "status", _kpi_status(kpi), ""
        basis = kpi.get("basis")
        if isinstance(basis, Mapping):
            for key, count in basis.items():
                if _numeric(count) is not None and not isinstance(count, bool):
                    yield section, code, name, f"basis.{key}", count, ""


def _rate_rows(section: str, item: str, label: str, entry: Mapping[str, Any]) -> Iterator[Row]:
    for stage in ("response", "resolution"):
        counts = entry.get(stage)
        if not isinstance(counts, Mapping):
            continue
        for key in ("on_time", "late", "pending"):
            if _numeric(counts.get(key)) is not None:
                yield section, item, label, f"{stage}.{key}", counts.get(key), ""
        rate = _numeric(counts.get("rate"))
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
    period = _text(energy.get("period"))
    yield "energy", period, "", "source", _text(energy.get("source")), ""
    for key, unit in figures:
        yield "energy", period, "", key, _numeric(energy.get(key)), unit
    tariff = energy.get("tariff")
    if isinstance(tariff, Mapping):
        yield "energy", period, "", "eur_per_kwh", _numeric(tariff.get("eur_per_kwh")), "EUR/kWh"
        yield (
            "energy",
            period,
            "",
            "kg_co2_per_kwh",
            _numeric(tariff.get("kg_co2_per_kwh")),
            "kg/kWh",
        )
    for month in energy.get("months") or []:
        item = _text(month.get("period"))
        for key, unit in (("baseline_kwh", "kWh"), ("current_kwh", "kWh"), ("saving_pct", "%")):
            yield "energy_month", item, "", key, _numeric(month.get(key)), unit


def _penalty_rows(penalties: Mapping[str, Any] | None) -> Iterator[Row]:
    if not penalties:
        return
    for n, item in enumerate(penalties.get("items") or [], start=1):
        rule = _text(item.get("rule"))
        ref = f"{n}"
        yield "penalty_item", ref, rule, "kind", _text(item.get("kind")), ""
        yield "penalty_item", ref, rule, "amount", _text(item.get("amount")), "EUR"
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
                yield "penalty_item", ref, rule, key, _text(value), unit
    for rule in penalties.get("rules") or []:
        name = _text(rule.get("rule"))
        for key in ("gross", "capped", "cap"):
            yield "penalty_rule", name, "", key, _text(rule.get(key)) or None, "EUR"
    for bonus in penalties.get("bonuses") or []:
        name = _text(bonus.get("rule"))
        for key in ("kpi", "measured", "target", "points", "amount"):
            unit = "EUR" if key == "amount" else ""
            value = bonus.get(key)
            yield "bonus", name, "", key, None if value is None else _text(value), unit
    for key in ("gross", "cap", "total", "bonus_total", "net"):
        value = penalties.get(key)
        yield "penalty_total", key, "", "amount", None if value is None else _text(value), "EUR"
    yield "penalty_total", "frozen", "", "value", bool(penalties.get("frozen")), ""
    if penalties.get("frozen_at"):
        yield "penalty_total", "frozen_at", "", "value", _text(penalties.get("frozen_at")), ""
    for code in penalties.get("missing_kpis") or []:
        yield "missing_kpi", _text(code), "", "value", None, ""


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
        yield "report", key, "", "value", _text(value), ""
    yield "report", "mttr_hours", "", "value", _numeric(report.get("mttr_hours")), "h"
    yield from _kpi_rows(report.get("kpis") or [])
    rates = report.get("rates") or {}
    for entry in rates.get("by_priority") or []:
        priority = _text(entry.get("priority"))
        yield from _rate_rows("rates_priority", priority, priority, entry)
    for entry in rates.get("by_commune") or []:
        yield from _rate_rows(
            "rates_commune", _text(entry.get("commune")), _text(entry.get("name")), entry
        )
    yield from _penalty_rows(report.get("penalties"))
    yield from _energy_rows(report.get("energy"))


def period_report_csv(report: Mapping[str, Any], lang: str | None = None) -> str:
    """The staff report of one period and lot as CSV (headers in ``lang``, codes if None)."""
    return _write(REPORT_COLUMNS, _report_rows(report), lang)


def transparency_csv(data: Mapping[str, Any], lang: str | None = None) -> str:
    """The public figures as CSV: each row carries the period, the scope and the commune, so
    that the files of several communes and years concatenate."""
    period = _text(data.get("period"))
    scope = _text(data.get("scope"))
    commune = data.get("commune") or {}
    insee = _text(commune.get("insee")) if isinstance(commune, Mapping) else ""

    def rows() -> Iterator[Sequence[Any]]:
        contract = data.get("contract") or {}
        if contract:
            for key in ("code", "start", "end"):
                yield (period, scope, insee, "contract", key, "", "value", contract.get(key), "")
        for lot in data.get("lots") or []:
            code = _text(lot.get("lot"))
            yield (period, scope, insee, "lot", code, "", "contractor", lot.get("contractor"), "")
            for row in _kpi_rows(lot.get("kpis") or [], section=f"kpi.{code}"):
                if not row[3].startswith("basis."):
                    yield (period, scope, insee, *row)
        for row in _energy_rows(data.get("energy")):
            yield (period, scope, insee, *row)
        if data.get("penalties_eur") is not None:
            amount = _text(data.get("penalties_eur"))
            yield (period, scope, insee, "penalties", "total", "", "amount", amount, "EUR")

    return _write(TRANSPARENCY_COLUMNS, rows(), lang)


# ---- PDF -------------------------------------------------------------------------------------


class _ReportPdf(FPDF):
    def __init__(self, lang: str, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.lang = lang
        self.footer_text = footer_text
        self.add_font(FONT_FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT_FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(74, 85, 103)
        self.cell(0, 6, self.footer_text, align="L")
        self.cell(0, 6, _label(self.lang, "page", n=self.page_no()), align="R")

    def heading(self, text: str, size: float = 13) -> None:
        self.ln(3)
        self.set_font(FONT_FAMILY, "B", size)
        self.set_text_color(11, 31, 58)
        self.multi_cell(0, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(27, 37, 51)
        self.set_font(FONT_FAMILY, size=9.5)
        self.ln(1)

    def line_of_text(self, text: str) -> None:
        self.set_font(FONT_FAMILY, size=9.5)
        self.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        self.set_font(FONT_FAMILY, size=8.5)
        with self.table(
            col_widths=tuple(widths),
            headings_style=_heading_style(),
            line_height=5,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as table:
            head = table.row()
            for text in headers:
                head.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(text)
        self.ln(2)


def _heading_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(226, 232, 240))


def _stage_text(counts: Any, lang: str) -> str:
    if not isinstance(counts, Mapping):
        return _label(lang, "none")
    return _label(
        lang,
        "on_time_late_pending",
        rate=rate_text(counts.get("rate"), lang),
        on_time=number_text(counts.get("on_time") or 0, lang),
        late=number_text(counts.get("late") or 0, lang),
        pending=number_text(counts.get("pending") or 0, lang),
    )


def _item_detail(item: Mapping[str, Any], lang: str) -> str:
    parts = []
    if item.get("order_id") is not None:
        parts.append(_label(lang, "order", id=item["order_id"]))
    if item.get("case_id") is not None:
        parts.append(_label(lang, "case", id=item["case_id"]))
    if item.get("stage"):
        parts.append(_label(lang, _text(item["stage"])))
    if item.get("hours_late") is not None:
        parts.append(_label(lang, "hours_late", hours=number_text(item["hours_late"], lang)))
    if item.get("kpi"):
        measured = number_text(item.get("measured"), lang, decimals=2)
        target = number_text(item.get("target"), lang, decimals=2)
        parts.append(f"{item['kpi']} {measured} / {target}")
    if item.get("points") is not None:
        parts.append(_label(lang, "points", points=number_text(item["points"], lang, decimals=2)))
    return ", ".join(parts)


def _energy_pdf(pdf: _ReportPdf, energy: Mapping[str, Any], lang: str) -> None:
    pdf.heading(_label(lang, "energy"))
    pdf.line_of_text(
        _label(
            lang,
            "lamps",
            lamps=number_text(energy.get("lamps"), lang),
            measured=number_text(energy.get("measured_lamps"), lang),
            modelled=number_text(energy.get("modelled_lamps"), lang),
        )
    )
    kwh = "\u00a0kWh"
    pdf.grid(
        ["", _label(lang, "baseline"), _label(lang, "current")],
        [
            [
                "kWh",
                number_text(energy.get("baseline_kwh"), lang, decimals=0) + kwh,
                number_text(energy.get("current_kwh"), lang, decimals=0) + kwh,
            ],
            [
                _label(lang, "cost"),
                money_text(energy.get("baseline_eur"), lang),
                money_text(energy.get("eur"), lang),
            ],
            [
                _label(lang, "co2"),
                number_text(energy.get("baseline_co2_kg"), lang, decimals=0) + "\u00a0kg",
                number_text(energy.get("co2_kg"), lang, decimals=0) + "\u00a0kg",
            ],
            [
                _label(lang, "saving"),
                _label(lang, "saving_target")
                + " "
                + measure_text(energy.get("target_pct"), "%", lang),
                measure_text(energy.get("saving_pct"), "%", lang),
            ],
        ],
        (50, 65, 65),
    )
    months = energy.get("months") or []
    if months:
        pdf.grid(
            [
                _label(lang, "month"),
                _label(lang, "baseline") + " (kWh)",
                _label(lang, "current") + " (kWh)",
                _label(lang, "saving"),
            ],
            [
                [
                    _text(m.get("period")),
                    number_text(m.get("baseline_kwh"), lang, decimals=0),
                    number_text(m.get("current_kwh"), lang, decimals=0),
                    measure_text(m.get("saving_pct"), "%", lang),
                ]
                for m in months
            ],
            (35, 50, 50, 45),
        )


def _penalties_pdf(pdf: _ReportPdf, penalties: Mapping[str, Any], lang: str) -> None:
    pdf.heading(_label(lang, "penalties"))
    if penalties.get("frozen"):
        pdf.line_of_text(
            _label(
                lang,
                "frozen",
                when=date_text(penalties.get("frozen_at"), with_time=True),
                who=_text(penalties.get("frozen_by")),
            )
        )
    else:
        pdf.line_of_text(_label(lang, "not_frozen"))
    items = penalties.get("items") or []
    if items:
        pdf.heading(_label(lang, "penalty_items"), 11)
        pdf.grid(
            [
                _label(lang, "rule"),
                _label(lang, "kind"),
                _label(lang, "detail"),
                _label(lang, "amount"),
            ],
            [
                [
                    _text(i.get("rule")),
                    _text(i.get("kind")),
                    _item_detail(i, lang),
                    money_text(i.get("amount"), lang),
                ]
                for i in items
            ],
            (30, 22, 98, 30),
        )
    else:
        pdf.line_of_text(_label(lang, "no_items"))
    rules = penalties.get("rules") or []
    if rules:
        pdf.heading(_label(lang, "rules"), 11)
        pdf.grid(
            [
                _label(lang, "rule"),
                _label(lang, "gross"),
                _label(lang, "cap"),
                _label(lang, "capped"),
            ],
            [
                [
                    _text(r.get("rule")),
                    money_text(r.get("gross"), lang),
                    money_text(r.get("cap"), lang)
                    if r.get("cap") is not None
                    else _label(lang, "no_cap"),
                    money_text(r.get("capped"), lang),
                ]
                for r in rules
            ],
            (45, 45, 45, 45),
        )
    bonuses = penalties.get("bonuses") or []
    if bonuses:
        pdf.heading(_label(lang, "bonuses"), 11)
        pdf.grid(
            [
                _label(lang, "rule"),
                _label(lang, "kpi"),
                _label(lang, "detail"),
                _label(lang, "amount"),
            ],
            [
                [
                    _text(b.get("rule")),
                    _text(b.get("kpi")),
                    _item_detail({"points": b.get("points")}, lang),
                    money_text(b.get("amount"), lang),
                ]
                for b in bonuses
            ],
            (45, 45, 45, 45),
        )
    cap = penalties.get("cap")
    pdf.grid(
        ["", _label(lang, "amount")],
        [
            [_label(lang, "gross"), money_text(penalties.get("gross"), lang)],
            [
                _label(lang, "lot_cap"),
                money_text(cap, lang) if cap is not None else _label(lang, "no_cap"),
            ],
            [_label(lang, "total"), money_text(penalties.get("total"), lang)],
            [_label(lang, "bonus_total"), money_text(penalties.get("bonus_total"), lang)],
            [_label(lang, "net"), money_text(penalties.get("net"), lang)],
        ],
        (90, 90),
    )
    missing = penalties.get("missing_kpis") or []
    if missing:
        pdf.line_of_text(
            _label(lang, "missing_kpis", codes=", ".join(_text(code) for code in missing))
        )


def period_report_pdf(
    report: Mapping[str, Any], lang: str = "en", *, compress: bool = True
) -> bytes:
    """The staff report of one period and lot as an A4 PDF (``compress=False`` for tests)."""
    lang = lang if lang in _LABELS else "en"
    contract = report.get("contract") or {}
    lot, period = _text(report.get("lot")), _text(report.get("period"))
    title = f"{_label(lang, 'report')} {_text(contract.get('code'))} {lot} {period}".strip()
    pdf = _ReportPdf(lang, title)
    pdf.set_compression(compress)
    pdf.set_title(title)
    pdf.set_subject(f"{lot} {period}")
    pdf.set_creator("Metropilot")
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.heading(title, 16)
    colon = "\u00a0: " if lang == "fr" else ": "
    parties = ", ".join(_text(p) for p in contract.get("parties") or [])
    facts = [
        f"{_label(lang, 'contract')}{colon}{_text(contract.get('code'))}",
        f"{_label(lang, 'parties')}{colon}{parties}",
        f"{_label(lang, 'lot')}{colon}{lot}",
        f"{_label(lang, 'contractor')}{colon}{_text(report.get('contractor'))}",
        _label(
            lang,
            "from_to",
            start=date_text(report.get("from")),
            end=date_text(report.get("to"), exclusive_end=True),
        ),
        _label(lang, "as_of", when=date_text(report.get("as_of"), with_time=True)),
    ]
    for fact in facts:
        pdf.line_of_text(fact)

    pdf.heading(_label(lang, "kpis"))
    kpis = report.get("kpis") or []
    pdf.grid(
        [
            _label(lang, "kpi"),
            _label(lang, "measured"),
            _label(lang, "target"),
            _label(lang, "status"),
        ],
        [
            [
                _text(k.get("name") or k.get("code")),
                measure_text(k.get("value"), _text(k.get("unit")), lang),
                measure_text(k.get("target"), _text(k.get("unit")), lang),
                _label(lang, _kpi_status(k)),
            ]
            for k in kpis
        ],
        (80, 35, 35, 30),
    )
    pdf.line_of_text(
        f"{_label(lang, 'mttr')}{colon}{measure_text(report.get('mttr_hours'), 'h', lang)}"
    )

    rates = report.get("rates") or {}
    by_priority = rates.get("by_priority") or []
    if by_priority:
        pdf.heading(_label(lang, "rates_priority"))
        pdf.grid(
            [_label(lang, "priority"), _label(lang, "response"), _label(lang, "resolution")],
            [
                [
                    _text(e.get("priority")),
                    _stage_text(e.get("response"), lang),
                    _stage_text(e.get("resolution"), lang),
                ]
                for e in by_priority
            ],
            (24, 78, 78),
        )
    by_commune = rates.get("by_commune") or []
    if by_commune:
        pdf.heading(_label(lang, "rates_commune"))
        pdf.grid(
            [_label(lang, "commune_title"), _label(lang, "response"), _label(lang, "resolution")],
            [
                [
                    _text(e.get("name") or e.get("commune")),
                    _stage_text(e.get("response"), lang),
                    _stage_text(e.get("resolution"), lang),
                ]
                for e in by_commune
            ],
            (40, 70, 70),
        )
    penalties = report.get("penalties")
    if isinstance(penalties, Mapping):
        _penalties_pdf(pdf, penalties, lang)
    energy = report.get("energy")
    if isinstance(energy, Mapping):
        _energy_pdf(pdf, energy, lang)
    return bytes(pdf.output())
