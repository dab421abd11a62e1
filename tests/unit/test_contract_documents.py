"""The performance contract's documents: charts, CSV and PDF from the services' dicts. No database."""

from __future__ import annotations

import copy
import csv
import io
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from metropilot.contracts import documents
from metropilot.contracts.documents import (
    energy_chart,
    kpi_chart,
    penalties_chart,
    period_report_csv,
    period_report_pdf,
    transparency_csv,
)

SVG = "{http://www.w3.org/2000/svg}"
PERSONAL = "jane.doe@example.org"

ENERGY: dict[str, Any] = {
    "period": "2026-03",
    "from": "2026-02-28T23:00:00+00:00",
    "to": "2026-03-31T22:00:00+00:00",
    "commune": None,
    "lamps": 34000,
    "measured_lamps": 1000,
    "modelled_lamps": 33000,
    "source": "mixed",
    "baseline_kwh": 1.0e7,
    "current_kwh": 5.0e6,
    "saving_pct": 50.0,
    "target_pct": 5.9,
    "eur": 1.0e6,
    "co2_kg": 2.6e5,
    "baseline_eur": 2.0e6,
    "baseline_co2_kg": 5.2e5,
    "tariff": {"eur_per_kwh": 0.2, "kg_co2_per_kwh": 0.052},
    "months": [
        {"period": "2026-01", "baseline_kwh": 1.2e6, "current_kwh": 6.0e5, "saving_pct": 50.0},
        {"period": "2026-02", "baseline_kwh": 1.0e6, "current_kwh": 4.8e5, "saving_pct": 52.0},
    ],
}

REPORT: dict[str, Any] = {
    "contract": {
        "code": "MPE-2026",
        "parties": ["Métropole", "Consortium"],
        "start": "2026-01-01",
        "end": "2038-01-01",
    },
    "period": "2026-03",
    "from": "2026-02-28T23:00:00+00:00",
    "to": "2026-03-31T22:00:00+00:00",
    "as_of": "2026-04-02T08:00:00+00:00",
    "lot": "lighting",
    "contractor": "lumen",
    "kpis": [
        {
            "code": "resolution_on_time",
            "name": "Resolutions on time",
            "unit": "%",
            "target": 95.0,
            "direction": "higher-is-better",
            "value": 93.2,
            "met": False,
            # A free-form basis: counts are written, a text (someone's address) never.
            "basis": {"on_time": 120, "late": 9, "pending": 4, "reporter": PERSONAL},
        },
        {
            "code": "availability",
            "name": "Lighting availability",
            "unit": "%",
            "target": 99.0,
            "direction": "higher-is-better",
            "value": None,
            "met": None,
            "basis": {},
        },
        {
            "code": "mttr",
            "name": "Mean time to repair",
            "unit": "h",
            "target": 8.0,
            "direction": "lower-is-better",
            "value": 5.2,
            "met": True,
            "basis": {},
        },
    ],
    "rates": {
        "by_priority": [
            {
                "priority": "P1",
                "response": {"on_time": 3, "late": 1, "pending": 0, "rate": 0.75},
                "resolution": {"on_time": 2, "late": 2, "pending": 0, "rate": 0.5},
            }
        ],
        "by_commune": [
            {
                "commune": "21231",
                "name": "Dijon",
                "response": {"on_time": 3, "late": 1, "pending": 0, "rate": 0.75},
                "resolution": {"on_time": 0, "late": 0, "pending": 4, "rate": None},
            }
        ],
    },
    "mttr_hours": 5.2,
    "penalties": {
        "lot": "lighting",
        "period": "2026-03",
        "as_of": "2026-04-02T08:00:00+00:00",
        "frozen": True,
        "frozen_at": "2026-04-05T07:30:00+00:00",
        "frozen_by": "supervisor",
        "items": [
            {
                "rule": "late",
                "kind": "delay",
                "amount": "123.45",
                "order_id": "17",
                "case_id": "9",
                "stage": "resolution",
                "hours_late": "1.23",
                "kpi": None,
                "measured": None,
                "target": None,
                "points": None,
                "reporter_email": PERSONAL,
            },
            {
                "rule": "=HYPERLINK(1)",
                "kind": "shortfall",
                "amount": "200.00",
                "order_id": None,
                "case_id": None,
                "stage": None,
                "hours_late": None,
                "kpi": "resolution_on_time",
                "measured": 93.2,
                "target": 95.0,
                "points": "1.80",
            },
        ],
        "rules": [
            {"rule": "late", "gross": "123.45", "capped": "123.45", "cap": "3000.00"},
            {"rule": "dark", "gross": "4000.00", "capped": "3000.00", "cap": "3000.00"},
        ],
        "gross": "3123.45",
        "cap": "10000.00",
        "total": "3123.45",
        "bonuses": [
            {
                "rule": "bright",
                "kpi": "mttr",
                "measured": 5.2,
                "target": 8.0,
                "points": "2.80",
                "amount": "56.00",
            }
        ],
        "bonus_total": "56.00",
        "net": "3067.45",
        "missing_kpis": ["availability"],
    },
    "energy": ENERGY,
    # Nothing of a person may ever reach a document, whatever the input carries.
    "reporter": {"name": "Jane Doe", "email": PERSONAL},
}

TRANSPARENCY: dict[str, Any] = {
    "scope": "commune",
    "commune": {"insee": "21231", "name": "Dijon"},
    "period": "2026",
    "generated_at": "2026-11-27T10:00:00+00:00",
    "contract": {"code": "MPE-2026", "start": "2026-01-01", "end": "2038-01-01"},
    "lots": [
        {
            "lot": "lighting",
            "contractor": "lumen",
            "kpis": [
                {
                    "code": "resolution_on_time",
                    "name": "Resolutions on time",
                    "unit": "%",
                    "target": 95.0,
                    "direction": "higher-is-better",
                    "value": 96.5,
                    "met": True,
                }
            ],
        }
    ],
    "energy": {**ENERGY, "period": "2026", "commune": "21231"},
    "penalties_eur": None,
    "communes": [{"insee": "21231", "name": "Dijon"}],
    "contact": PERSONAL,
}


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)  # our own output, not untrusted XML


# ---- Charts ----------------------------------------------------------------------------------


def test_the_kpi_chart_shows_values_targets_and_states() -> None:
    text = kpi_chart(REPORT["kpis"], "en")
    root = _svg(text)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "kpi-chart-title kpi-chart-desc"
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert titles[0] == "Indicators: measured value against target"
    assert "Resolutions on time: 93.2% (target 95%, missed)" in titles
    assert "Lighting availability: not measured (target 99%)" in titles
    assert "Mean time to repair: 5.2\u00a0h (target 8\u00a0h, met)" in titles
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert "93.2%" in (desc.text or "")
    # Missed in red, met in green, and no bar at all for the unmeasured one.
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")]
    assert documents.MISSED in fills
    assert documents.MET in fills
    rows = [g for g in root.iter(f"{SVG}g") if "chart__row--unmeasured" in (g.get("class") or "")]
    assert len(rows) == 1
    assert len(rows[0].findall(f"{SVG}rect")) == 1  # only the empty track
    assert "style=" not in text  # the pages' CSP forbids style attributes
    assert PERSONAL not in text


def test_charts_speak_french_and_escape_their_texts() -> None:
    kpis = [{**REPORT["kpis"][0], "name": "Délais <script>alert(1)</script> & co"}]
    text = kpi_chart(kpis, "fr")
    assert "<script>" not in text
    assert "Délais &lt;script&gt;" in text
    root = _svg(text)
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert titles[0] == "Indicateurs\u00a0: valeur mesurée et objectif"
    assert any("93,2\u00a0% (objectif 95\u00a0%, manqué)" in t for t in titles)


def test_the_energy_chart_has_a_column_per_month_and_figure() -> None:
    root = _svg(energy_chart(ENERGY, "en"))
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert "2026-01: baseline 1,200,000 kWh" in titles
    assert "2026-01: current 600,000 kWh" in titles
    assert "2026-02: current 480,000 kWh" in titles
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 4
    # The baseline of January is the tallest bar; each bar's height follows its value.
    heights = {r.find(f"{SVG}title").text: float(r.get("height") or 0) for r in bars}  # type: ignore[union-attr]
    assert heights["2026-01: baseline 1,200,000 kWh"] == pytest.approx(
        2 * heights["2026-01: current 600,000 kWh"], rel=0.01
    )
    french = _svg(energy_chart(ENERGY, "fr"))
    assert any(
        (t.text or "") == "2026-01\u00a0: actuelle 600\u202f000 kWh"
        for t in french.iter(f"{SVG}title")
    )


def test_the_penalties_chart_shows_each_rule_after_its_cap() -> None:
    root = _svg(penalties_chart(REPORT["penalties"], "en"))
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert "late: 123.45 € (gross 123.45 €)" in titles
    assert "dark: 3,000.00 € (gross 4,000.00 €)" in titles


@pytest.mark.parametrize(
    "chart",
    [
        lambda: kpi_chart([], "en"),
        lambda: energy_chart(None, "en"),
        lambda: energy_chart({**ENERGY, "months": []}, "en"),
        lambda: penalties_chart({"rules": []}, "en"),
    ],
)
def test_an_empty_chart_says_so(chart: Any) -> None:
    root = _svg(chart())
    assert root.find(f"{SVG}title") is not None
    assert "No data for this period." in "".join(root.itertext())


# ---- CSV -------------------------------------------------------------------------------------


def test_the_report_csv_has_a_row_per_fact() -> None:
    text = period_report_csv(REPORT)
    assert text.splitlines()[0] == "section,item,label,field,value,unit"
    rows = _rows(text)

    def value(section: str, item: str, field: str) -> str:
        found = [
            r["value"]
            for r in rows
            if (r["section"], r["item"], r["field"]) == (section, item, field)
        ]
        assert len(found) == 1, (section, item, field, found)
        return found[0]

    assert value("report", "contract", "value") == "MPE-2026"
    assert value("report", "lot", "value") == "lighting"
    assert value("report", "period", "value") == "2026-03"
    assert value("report", "mttr_hours", "value") == "5.2"
    assert value("kpi", "resolution_on_time", "value") == "93.2"
    assert value("kpi", "resolution_on_time", "target") == "95.0"
    assert value("kpi", "resolution_on_time", "status") == "missed"
    assert value("kpi", "resolution_on_time", "basis.late") == "9"
    assert value("kpi", "availability", "value") == ""
    assert value("kpi", "availability", "status") == "unmeasured"
    assert value("kpi", "mttr", "status") == "met"
    assert value("rates_priority", "P1", "response.rate") == "75.0"
    assert value("rates_commune", "21231", "resolution.rate") == ""
    assert value("rates_commune", "21231", "resolution.pending") == "4"
    assert value("penalty_item", "1", "amount") == "123.45"
    assert value("penalty_item", "1", "order_id") == "17"
    assert value("penalty_item", "2", "points") == "1.80"
    assert value("penalty_rule", "dark", "capped") == "3000.00"
    assert value("penalty_total", "net", "amount") == "3067.45"
    assert value("penalty_total", "frozen", "value") == "true"
    assert value("bonus", "bright", "amount") == "56.00"
    assert value("missing_kpi", "availability", "value") == ""
    assert value("energy", "2026-03", "saving_pct") == "50.0"
    assert value("energy", "2026-03", "source") == "mixed"
    assert value("energy_month", "2026-02", "current_kwh") == "480000.0"
    # A label a spreadsheet would run as a formula is defused.
    assert any(r["label"] == "'=HYPERLINK(1)" for r in rows)
    assert PERSONAL not in text
    assert "Jane" not in text


def test_the_report_csv_headers_follow_the_language() -> None:
    assert period_report_csv(REPORT, "fr").splitlines()[0] == (
        "rubrique,élément,libellé,champ,valeur,unité"
    )
    assert period_report_csv(REPORT, "en").splitlines()[0] == (
        "section,item,label,field,value,unit"
    )
    # The codes of sections and fields stay the same in every language.
    assert _rows(period_report_csv(REPORT, "fr"))[0]["rubrique"] == "report"


def test_the_transparency_csv_carries_scope_and_period_on_every_row() -> None:
    text = transparency_csv(TRANSPARENCY)
    rows = _rows(text)
    assert text.splitlines()[0] == "period,scope,commune,section,item,label,field,value,unit"
    assert {(r["period"], r["scope"], r["commune"]) for r in rows} == {("2026", "commune", "21231")}
    kpi = {r["field"]: r["value"] for r in rows if r["section"] == "kpi.lighting"}
    assert kpi["value"] == "96.5"
    assert kpi["status"] == "met"
    energy = {r["field"]: r["value"] for r in rows if r["section"] == "energy"}
    assert energy["baseline_kwh"] == "10000000.0"
    assert energy["eur"] == "1000000.0"
    assert not [r for r in rows if r["section"] == "penalties"]  # a commune has none
    assert PERSONAL not in text
    assert _rows(transparency_csv({**TRANSPARENCY, "penalties_eur": "1234.00"}))[-1]["value"] == (
        "1234.00"
    )
    assert transparency_csv(TRANSPARENCY, "fr").splitlines()[0].startswith("période,périmètre")


def test_a_transparency_csv_without_a_contract_still_has_its_header() -> None:
    empty = {**TRANSPARENCY, "contract": None, "lots": [], "energy": None}
    assert transparency_csv(empty).splitlines() == [
        "period,scope,commune,section,item,label,field,value,unit"
    ]


# ---- PDF -------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    """The text an uncompressed fpdf2 PDF shows: glyph codes mapped back through the fonts'
    ToUnicode maps (every font is a subset, so codes are small and shared maps would clash:
    each text object names its font first)."""
    raw = data.decode("latin-1")
    maps: dict[str, dict[int, str]] = {}
    # Font resources: /F1 12 0 R → the font object → its /ToUnicode stream.
    objects = {m[1]: m[2] for m in re.finditer(r"(?s)\n(\d+) 0 obj\n(.*?)\nendobj", raw)}
    for name, number in re.findall(r"/(F\d+) (\d+) 0 R", raw):
        font = objects.get(number, "")
        descendant = re.search(r"/ToUnicode (\d+) 0 R", font)
        if not descendant:
            continue
        cmap = objects.get(descendant[1], "")
        table: dict[int, str] = {}
        for block in re.findall(r"(?s)beginbfchar(.*?)endbfchar", cmap):
            for code, uni in re.findall(r"<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>", block):
                table[int(code, 16)] = bytes.fromhex(uni).decode("utf-16-be")
        for block in re.findall(r"(?s)beginbfrange(.*?)endbfrange", cmap):
            for low, high, start in re.findall(
                r"<([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)> <([0-9A-Fa-f]+)>", block
            ):
                for offset in range(int(high, 16) - int(low, 16) + 1):
                    table[int(low, 16) + offset] = chr(int(start, 16) + offset)
        maps[name] = table

    def unescape(literal: str) -> bytes:
        out = bytearray()
        i = 0
        while i < len(literal):
            ch = literal[i]
            if ch == "\\":
                nxt = literal[i + 1]
                if nxt in "01234567":
                    digits = re.match(r"[0-7]{1,3}", literal[i + 1 :])
                    assert digits
                    out.append(int(digits[0], 8))
                    i += 1 + len(digits[0])
                    continue
                out.append({"n": 10, "r": 13, "t": 9, "b": 8, "f": 12}.get(nxt, ord(nxt)) & 0xFF)
                i += 2
                continue
            out.append(ord(ch))
            i += 1
        return bytes(out)

    words = []
    font = ""
    for token in re.finditer(r"/(F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", raw, re.S):
        if token[1]:
            font = token[1]
            continue
        codes = unescape(token[2])
        table = maps.get(font, {})
        words.append(
            "".join(
                table.get(int.from_bytes(codes[i : i + 2], "big"), "?")
                for i in range(0, len(codes) - 1, 2)
            )
        )
    # Both spaces draw the same glyph, which maps back to a plain space.
    return "\n".join(words).replace("\u00a0", " ")


def test_the_report_pdf_is_a_pdf_with_the_report_in_it() -> None:
    data = period_report_pdf(REPORT, "en")
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert len(data) > 5_000

    text = _pdf_text(period_report_pdf(REPORT, "en", compress=False))
    assert "Performance report MPE-2026 lighting 2026-03" in text
    assert "From 2026-03-01 to 2026-03-31" in text
    assert "Computed on 2026-04-02 10:00" in text  # Paris time
    assert "Frozen on 2026-04-05 09:30 by supervisor" in text
    assert "Resolutions on time" in text
    assert "93.2%" in text
    assert "missed" in text
    assert "123.45 €" in text  # the euro sign needs the embedded font
    assert "3,067.45 €" in text
    assert "CO₂" in text
    assert "Indicators with no measured value (never guessed): availability" in text
    assert "Dijon" in text
    assert PERSONAL not in text
    assert "Jane" not in text


def test_the_report_pdf_speaks_french() -> None:
    text = _pdf_text(period_report_pdf(REPORT, "fr", compress=False))
    assert "Rapport de performance MPE-2026 lighting 2026-03" in text
    assert "Du 2026-03-01 au 2026-03-31" in text
    assert "Indicateurs de performance" in text
    assert "Marché : MPE-2026" in text
    assert "93,2 %" in text
    assert "3\u202f067,45 €" in text
    assert "manqué" in text
    assert "Énergie de l’éclairage" in text


def test_a_report_without_energy_or_penalties_still_prints() -> None:
    report = copy.deepcopy(REPORT)
    report.update(
        lot="it", energy=None, kpis=[], rates={}, mttr_hours=None, penalties={"items": []}
    )
    text = _pdf_text(period_report_pdf(report, "en", compress=False))
    assert "Performance report MPE-2026 it 2026-03" in text
    assert "No penalty in this period." in text
    assert "Lighting energy" not in text


def test_the_vendored_font_and_its_licence_ship_with_the_package() -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"):
        assert (documents.FONT_DIR / name).is_file(), name
    assert "Bitstream" in (documents.FONT_DIR / "LICENSE").read_text()
