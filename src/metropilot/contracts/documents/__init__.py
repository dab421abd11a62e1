"""Documents of the performance contract: charts (SVG), CSV and PDF, from the services' dicts. Pure.

The inputs are the JSON objects ``contracts.services.period_report`` and
``contracts.services.transparency`` return (typed in ``contracts.services.results``, read here
as plain mappings, as the tests and the open data give them); nothing here reads a database or a
request. ``text`` holds the labels and formats, ``charts``, ``tables`` (CSV) and ``pdf`` draw.

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

from metropilot.contracts.documents.charts import energy_chart, kpi_chart, penalties_chart
from metropilot.contracts.documents.pdf import period_report_pdf
from metropilot.contracts.documents.tables import period_report_csv, transparency_csv
from metropilot.contracts.documents.text import (
    FONT_DIR,
    MET,
    MISSED,
    date_text,
    measure_text,
    money_text,
    number_text,
    rate_text,
)

__all__ = [
    "FONT_DIR",
    "MET",
    "MISSED",
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
