"""The staff report of a period and a lot as an A4 PDF (fpdf2, DejaVu Sans embedded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from metropilot.contracts.documents.text import (
    FONT_DIR,
    FONT_FAMILY,
    LABELS,
    as_text,
    date_text,
    kpi_status,
    label_of,
    measure_text,
    money_text,
    number_text,
    rate_text,
)

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
        self.cell(0, 6, label_of(self.lang, "page", n=self.page_no()), align="R")

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
        return label_of(lang, "none")
    return label_of(
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
        parts.append(label_of(lang, "order", id=item["order_id"]))
    if item.get("case_id") is not None:
        parts.append(label_of(lang, "case", id=item["case_id"]))
    if item.get("stage"):
        parts.append(label_of(lang, as_text(item["stage"])))
    if item.get("hours_late") is not None:
        parts.append(label_of(lang, "hours_late", hours=number_text(item["hours_late"], lang)))
    if item.get("kpi"):
        measured = number_text(item.get("measured"), lang, decimals=2)
        target = number_text(item.get("target"), lang, decimals=2)
        parts.append(f"{item['kpi']} {measured} / {target}")
    if item.get("points") is not None:
        parts.append(label_of(lang, "points", points=number_text(item["points"], lang, decimals=2)))
    return ", ".join(parts)


def _energy_pdf(pdf: _ReportPdf, energy: Mapping[str, Any], lang: str) -> None:
    pdf.heading(label_of(lang, "energy"))
    pdf.line_of_text(
        label_of(
            lang,
            "lamps",
            lamps=number_text(energy.get("lamps"), lang),
            measured=number_text(energy.get("measured_lamps"), lang),
            modelled=number_text(energy.get("modelled_lamps"), lang),
        )
    )
    kwh = "\u00a0kWh"
    pdf.grid(
        ["", label_of(lang, "baseline"), label_of(lang, "current")],
        [
            [
                "kWh",
                number_text(energy.get("baseline_kwh"), lang, decimals=0) + kwh,
                number_text(energy.get("current_kwh"), lang, decimals=0) + kwh,
            ],
            [
                label_of(lang, "cost"),
                money_text(energy.get("baseline_eur"), lang),
                money_text(energy.get("eur"), lang),
            ],
            [
                label_of(lang, "co2"),
                number_text(energy.get("baseline_co2_kg"), lang, decimals=0) + "\u00a0kg",
                number_text(energy.get("co2_kg"), lang, decimals=0) + "\u00a0kg",
            ],
            [
                label_of(lang, "saving"),
                label_of(lang, "saving_target")
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
                label_of(lang, "month"),
                label_of(lang, "baseline") + " (kWh)",
                label_of(lang, "current") + " (kWh)",
                label_of(lang, "saving"),
            ],
            [
                [
                    as_text(m.get("period")),
                    number_text(m.get("baseline_kwh"), lang, decimals=0),
                    number_text(m.get("current_kwh"), lang, decimals=0),
                    measure_text(m.get("saving_pct"), "%", lang),
                ]
                for m in months
            ],
            (35, 50, 50, 45),
        )


def _penalties_pdf(pdf: _ReportPdf, penalties: Mapping[str, Any], lang: str) -> None:
    pdf.heading(label_of(lang, "penalties"))
    if penalties.get("frozen"):
        pdf.line_of_text(
            label_of(
                lang,
                "frozen",
                when=date_text(penalties.get("frozen_at"), with_time=True),
                who=as_text(penalties.get("frozen_by")),
            )
        )
    else:
        pdf.line_of_text(label_of(lang, "not_frozen"))
    _penalty_items_pdf(pdf, penalties, lang)
    _penalty_rules_pdf(pdf, penalties, lang)
    _penalty_totals_pdf(pdf, penalties, lang)


def _penalty_items_pdf(pdf: _ReportPdf, penalties: Mapping[str, Any], lang: str) -> None:
    """The late orders and KPI shortfalls that make the penalty, one line each."""
    items = penalties.get("items") or []
    if items:
        pdf.heading(label_of(lang, "penalty_items"), 11)
        pdf.grid(
            [
                label_of(lang, "rule"),
                label_of(lang, "kind"),
                label_of(lang, "detail"),
                label_of(lang, "amount"),
            ],
            [
                [
                    as_text(i.get("rule")),
                    as_text(i.get("kind")),
                    _item_detail(i, lang),
                    money_text(i.get("amount"), lang),
                ]
                for i in items
            ],
            (30, 22, 98, 30),
        )
    else:
        pdf.line_of_text(label_of(lang, "no_items"))


def _penalty_rules_pdf(pdf: _ReportPdf, penalties: Mapping[str, Any], lang: str) -> None:
    """Each rule's amount before and after its cap, and the bonuses."""
    rules = penalties.get("rules") or []
    if rules:
        pdf.heading(label_of(lang, "rules"), 11)
        pdf.grid(
            [
                label_of(lang, "rule"),
                label_of(lang, "gross"),
                label_of(lang, "cap"),
                label_of(lang, "capped"),
            ],
            [
                [
                    as_text(r.get("rule")),
                    money_text(r.get("gross"), lang),
                    money_text(r.get("cap"), lang)
                    if r.get("cap") is not None
                    else label_of(lang, "no_cap"),
                    money_text(r.get("capped"), lang),
                ]
                for r in rules
            ],
            (45, 45, 45, 45),
        )
    bonuses = penalties.get("bonuses") or []
    if bonuses:
        pdf.heading(label_of(lang, "bonuses"), 11)
        pdf.grid(
            [
                label_of(lang, "rule"),
                label_of(lang, "kpi"),
                label_of(lang, "detail"),
                label_of(lang, "amount"),
            ],
            [
                [
                    as_text(b.get("rule")),
                    as_text(b.get("kpi")),
                    _item_detail({"points": b.get("points")}, lang),
                    money_text(b.get("amount"), lang),
                ]
                for b in bonuses
            ],
            (45, 45, 45, 45),
        )


def _penalty_totals_pdf(pdf: _ReportPdf, penalties: Mapping[str, Any], lang: str) -> None:
    """Gross, the lot's cap, the penalty due, the bonuses and the net amount."""
    cap = penalties.get("cap")
    pdf.grid(
        ["", label_of(lang, "amount")],
        [
            [label_of(lang, "gross"), money_text(penalties.get("gross"), lang)],
            [
                label_of(lang, "lot_cap"),
                money_text(cap, lang) if cap is not None else label_of(lang, "no_cap"),
            ],
            [label_of(lang, "total"), money_text(penalties.get("total"), lang)],
            [label_of(lang, "bonus_total"), money_text(penalties.get("bonus_total"), lang)],
            [label_of(lang, "net"), money_text(penalties.get("net"), lang)],
        ],
        (90, 90),
    )
    missing = penalties.get("missing_kpis") or []
    if missing:
        pdf.line_of_text(
            label_of(lang, "missing_kpis", codes=", ".join(as_text(code) for code in missing))
        )


def period_report_pdf(
    report: Mapping[str, Any], lang: str = "en", *, compress: bool = True
) -> bytes:
    """The staff report of one period and lot as an A4 PDF (``compress=False`` for tests)."""
    lang = lang if lang in LABELS else "en"
    contract = report.get("contract") or {}
    lot, period = as_text(report.get("lot")), as_text(report.get("period"))
    title = f"{label_of(lang, 'report')} {as_text(contract.get('code'))} {lot} {period}".strip()
    pdf = _ReportPdf(lang, title)
    pdf.set_compression(compress)
    pdf.set_title(title)
    pdf.set_subject(f"{lot} {period}")
    pdf.set_creator("Metropilot")
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.heading(title, 16)
    _report_facts_pdf(pdf, report, lang)
    _kpis_pdf(pdf, report, lang)
    rates = report.get("rates") or {}
    _rates_pdf(pdf, rates, lang)
    penalties = report.get("penalties")
    if isinstance(penalties, Mapping):
        _penalties_pdf(pdf, penalties, lang)
    energy = report.get("energy")
    if isinstance(energy, Mapping):
        _energy_pdf(pdf, energy, lang)
    return bytes(pdf.output())


def _colon(lang: str) -> str:
    return "\u00a0: " if lang == "fr" else ": "


def _report_facts_pdf(pdf: _ReportPdf, report: Mapping[str, Any], lang: str) -> None:
    """Who and what the report is about, and when it was computed."""
    contract = report.get("contract") or {}
    lot = as_text(report.get("lot"))
    colon = _colon(lang)
    parties = ", ".join(as_text(p) for p in contract.get("parties") or [])
    facts = [
        f"{label_of(lang, 'contract')}{colon}{as_text(contract.get('code'))}",
        f"{label_of(lang, 'parties')}{colon}{parties}",
        f"{label_of(lang, 'lot')}{colon}{lot}",
        f"{label_of(lang, 'contractor')}{colon}{as_text(report.get('contractor'))}",
        label_of(
            lang,
            "from_to",
            start=date_text(report.get("from")),
            end=date_text(report.get("to"), exclusive_end=True),
        ),
        label_of(lang, "as_of", when=date_text(report.get("as_of"), with_time=True)),
    ]
    for fact in facts:
        pdf.line_of_text(fact)


def _kpis_pdf(pdf: _ReportPdf, report: Mapping[str, Any], lang: str) -> None:
    """Each KPI measured against its target, and the mean time to repair."""
    colon = _colon(lang)
    pdf.heading(label_of(lang, "kpis"))
    kpis = report.get("kpis") or []
    pdf.grid(
        [
            label_of(lang, "kpi"),
            label_of(lang, "measured"),
            label_of(lang, "target"),
            label_of(lang, "status"),
        ],
        [
            [
                as_text(k.get("name") or k.get("code")),
                measure_text(k.get("value"), as_text(k.get("unit")), lang),
                measure_text(k.get("target"), as_text(k.get("unit")), lang),
                label_of(lang, kpi_status(k)),
            ]
            for k in kpis
        ],
        (80, 35, 35, 30),
    )
    pdf.line_of_text(
        f"{label_of(lang, 'mttr')}{colon}{measure_text(report.get('mttr_hours'), 'h', lang)}"
    )


def _rates_pdf(pdf: _ReportPdf, rates: Mapping[str, Any], lang: str) -> None:
    """The on-time rates by priority and by commune."""
    by_priority = rates.get("by_priority") or []
    if by_priority:
        pdf.heading(label_of(lang, "rates_priority"))
        pdf.grid(
            [label_of(lang, "priority"), label_of(lang, "response"), label_of(lang, "resolution")],
            [
                [
                    as_text(e.get("priority")),
                    _stage_text(e.get("response"), lang),
                    _stage_text(e.get("resolution"), lang),
                ]
                for e in by_priority
            ],
            (24, 78, 78),
        )
    by_commune = rates.get("by_commune") or []
    if by_commune:
        pdf.heading(label_of(lang, "rates_commune"))
        pdf.grid(
            [
                label_of(lang, "commune_title"),
                label_of(lang, "response"),
                label_of(lang, "resolution"),
            ],
            [
                [
                    as_text(e.get("name") or e.get("commune")),
                    _stage_text(e.get("response"), lang),
                    _stage_text(e.get("resolution"), lang),
                ]
                for e in by_commune
            ],
            (40, 70, 70),
        )
