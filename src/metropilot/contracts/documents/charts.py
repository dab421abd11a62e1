"""Charts as standalone SVG elements, drawn on the server (no script on the pages)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from metropilot.contracts.documents.text import (
    BASELINE,
    CURRENT,
    FONT,
    INK,
    INK_SOFT,
    LINE,
    MET,
    MISSED,
    UNMEASURED,
    as_number,
    as_text,
    coord,
    kpi_status,
    label_of,
    measure_text,
    money_text,
    number_text,
    xml_text,
)

# ---- Charts ----------------------------------------------------------------------------------


def _svg(
    chart_id: str, width: float, height: float, title: str, desc: str, body: Iterable[str]
) -> str:
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{xml_text(chart_id)}" '
            f'viewBox="0 0 {coord(width)} {coord(height)}" width="100%" '
            f'preserveAspectRatio="xMinYMin meet" role="img" '
            f'aria-labelledby="{xml_text(chart_id)}-title {xml_text(chart_id)}-desc" '
            f'font-family="{xml_text(FONT)}" font-size="13" fill="{INK}">',
            f'<title id="{xml_text(chart_id)}-title">{xml_text(title)}</title>',
            f'<desc id="{xml_text(chart_id)}-desc">{xml_text(desc)}</desc>',
            *body,
            "</svg>",
        ]
    )


def _empty(chart_id: str, title: str, lang: str) -> str:
    message = label_of(lang, "empty_chart")
    return _svg(
        chart_id,
        480,
        48,
        title,
        message,
        [f'<text x="8" y="28" fill="{INK_SOFT}">{xml_text(message)}</text>'],
    )


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kpi_chart(
    kpis: Sequence[Mapping[str, Any]], lang: str = "en", *, chart_id: str = "kpi-chart"
) -> str:
    """One row per indicator: the measured value as a bar (green met, red missed, none when
    unmeasured) and the target as a dark tick, each on its own scale (units differ)."""
    title = label_of(lang, "kpi_chart")
    if not kpis:
        return _empty(chart_id, title, lang)
    label_w, bar_w, value_w, row_h = 220.0, 300.0, 150.0, 34.0
    width = label_w + bar_w + value_w
    height = row_h * len(kpis) + 8
    body: list[str] = []
    sentences: list[str] = []
    for n, kpi in enumerate(kpis):
        name = as_text(kpi.get("name") or kpi.get("code"))
        unit = as_text(kpi.get("unit"))
        value = as_number(kpi.get("value"))
        target = as_number(kpi.get("target"))
        status = kpi_status(kpi)
        top = 4 + n * row_h
        scale = 100.0 if unit == "%" else max(value or 0.0, target or 0.0, 1e-9) * 1.2
        target_text = measure_text(target, unit, lang)
        if value is None:
            sentence = label_of(lang, "kpi_bar_none", name=name, target=target_text)
        else:
            sentence = label_of(
                lang,
                "kpi_bar",
                name=name,
                value=measure_text(value, unit, lang),
                target=target_text,
                status=label_of(lang, status),
            )
        sentences.append(sentence)
        colour = {"met": MET, "missed": MISSED}.get(status, UNMEASURED)
        parts = [
            f'<g class="chart__row chart__row--{status}">',
            f"<title>{xml_text(sentence)}</title>",
            f'<text x="0" y="{coord(top + 21)}">{xml_text(_short(name))}</text>',
            f'<rect x="{coord(label_w)}" y="{coord(top + 6)}" width="{coord(bar_w)}" '
            f'height="20" fill="#f2f4f8" stroke="{LINE}"/>',
        ]
        if value is not None:
            filled = bar_w * min(max(value / scale, 0.0), 1.0)
            parts.append(
                f'<rect x="{coord(label_w)}" y="{coord(top + 6)}" '
                f'width="{coord(filled)}" height="20" fill="{colour}"/>'
            )
        if target is not None:
            tick = label_w + bar_w * min(max(target / scale, 0.0), 1.0)
            parts.append(
                f'<line x1="{coord(tick)}" x2="{coord(tick)}" y1="{coord(top + 1)}" '
                f'y2="{coord(top + 31)}" stroke="{INK}" stroke-width="3"/>'
            )
        shown = measure_text(value, unit, lang) if value is not None else label_of(lang, status)
        parts.append(
            f'<text x="{coord(label_w + bar_w + 8)}" y="{coord(top + 21)}" '
            f'fill="{colour if value is not None else INK_SOFT}">{xml_text(shown)} / '
            f"{xml_text(target_text)}</text>"
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
    title = label_of(lang, "energy_chart")
    months = list((energy or {}).get("months") or [])
    if not months:
        return _empty(chart_id, title, lang)
    pairs = [
        (
            as_text(m.get("period")),
            as_number(m.get("baseline_kwh")),
            as_number(m.get("current_kwh")),
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
    baseline_word = label_of(lang, "baseline")
    current_word = label_of(lang, "current")
    body = [
        f'<rect x="{coord(left)}" y="6" width="14" height="14" fill="{BASELINE}"/>',
        f'<text x="{coord(left + 20)}" y="18">{xml_text(baseline_word)}</text>',
        f'<rect x="{coord(left + 140)}" y="6" width="14" height="14" fill="{CURRENT}"/>',
        f'<text x="{coord(left + 160)}" y="18">{xml_text(current_word)}</text>',
    ]
    for tick in ticks:
        y = plot_top + plot_h - plot_h * tick / ceiling
        body.append(
            f'<line x1="{coord(left)}" x2="{coord(width - right)}" y1="{coord(y)}" '
            f'y2="{coord(y)}" stroke="{LINE}"/>'
            f'<text x="{coord(left - 6)}" y="{coord(y + 4)}" text-anchor="end" '
            f'font-size="11" fill="{INK_SOFT}">{xml_text(number_text(tick, lang))}</text>'
        )
    sentences = []
    bar = min((group - 12) / 2, 40.0)
    for n, (month, baseline, current) in enumerate(pairs):
        x0 = left + group * n + (group - 2 * bar - 1) / 2
        body.append('<g class="chart__group">')
        for k, (which, value, colour) in enumerate(
            ((baseline_word, baseline, BASELINE), (current_word, current, CURRENT))
        ):
            sentence = label_of(
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
                f'<rect x="{coord(x0 + (bar + 1) * k)}" y="{coord(plot_top + plot_h - h)}" '
                f'width="{coord(bar)}" height="{coord(h)}" fill="{colour}">'
                f"<title>{xml_text(sentence)}</title></rect>"
            )
        month_label = month[-2:] if len(month) == 7 else month
        body.append(
            f'<text x="{coord(x0 + bar)}" y="{coord(plot_top + plot_h + 16)}" '
            f'text-anchor="middle" font-size="11">{xml_text(month_label)}'
            "</text></g>"
        )
    body.append(
        f'<line x1="{coord(left)}" x2="{coord(width - right)}" '
        f'y1="{coord(plot_top + plot_h)}" y2="{coord(plot_top + plot_h)}" stroke="{INK}"/>'
    )
    return _svg(chart_id, width, height, title, " ".join(sentences), body)


def penalties_chart(
    penalties: Mapping[str, Any] | None, lang: str = "en", *, chart_id: str = "penalties-chart"
) -> str:
    """One bar per rule: the amount after the rule's cap, over a pale bar of the gross."""
    title = label_of(lang, "penalties_chart")
    rules = [r for r in (penalties or {}).get("rules") or [] if as_number(r.get("gross"))]
    if not rules:
        return _empty(chart_id, title, lang)
    label_w, bar_w, value_w, row_h = 160.0, 300.0, 170.0, 30.0
    top = max(as_number(r.get("gross")) or 0.0 for r in rules) or 1.0
    body: list[str] = []
    sentences = []
    for n, rule in enumerate(rules):
        gross = as_number(rule.get("gross")) or 0.0
        capped = as_number(rule.get("capped"))
        capped = gross if capped is None else capped
        name = as_text(rule.get("rule"))
        y = 4 + n * row_h
        sentence = label_of(
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
                f"<title>{xml_text(sentence)}</title>",
                f'<text x="0" y="{coord(y + 18)}">{xml_text(_short(name, 20))}</text>',
                f'<rect x="{coord(label_w)}" y="{coord(y + 4)}" '
                f'width="{coord(bar_w * gross / top)}" height="18" fill="#f4c7c3"/>',
                f'<rect x="{coord(label_w)}" y="{coord(y + 4)}" '
                f'width="{coord(bar_w * max(capped, 0.0) / top)}" height="18" fill="{MISSED}"/>',
                f'<text x="{coord(label_w + bar_w + 8)}" y="{coord(y + 18)}">'
                f"{xml_text(money_text(capped, lang))}</text>",
                "</g>",
            ]
        )
    width = label_w + bar_w + value_w
    return _svg(chart_id, width, row_h * len(rules) + 8, title, " ".join(sentences), body)
